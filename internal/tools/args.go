package tools

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
)

// An argument's `schema` tag declares what its type and description do not,
// and is both written into the tool's input schema and enforced on every
// call, so that a model validating against the schema and the server agree:
//
//	schema:"min=1,max=90,default=7"  an integer range, and the value taken when omitted
//	schema:"enum=fe|be|all"          a closed set (of a list's items, for a list)
//	schema:"alias=depth"             another name of argument depth, as other servers call it
//
// min, max and default may name a deployment limit: $rows, $bytes or
// $seconds (the call's time limit), default or maximum as the Server has
// them. An integer argument with a minimum of 1 or more that is sent as 0
// is refused, not taken as the default.
type argRule struct {
	index    int // of the field in the arguments struct
	name     string
	min, max *int
	def      *int
	defText  string // the default of a string argument
	enum     []string
	aliasOf  int // index of the field this one is another name of, or -1
	primary  string
	hasFloor bool // min >= 1: an explicit 0 is an error
}

// omitted marks an integer argument the call did not send.
const omitted = math.MinInt

// argRules reads the tags of In's fields and writes what they declare into
// schema.
func argRules(t reflect.Type, schema *jsonschema.Schema, def, top limitsInt) ([]argRule, error) {
	var rules []argRule
	byName := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		byName[name] = i
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("schema")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		prop := schema.Properties[name]
		if prop == nil {
			return nil, fmt.Errorf("argument %s: not in the schema", name)
		}
		r := argRule{index: i, name: name, aliasOf: -1}
		for part := range strings.SplitSeq(tag, ",") {
			key, val, _ := strings.Cut(part, "=")
			if key == "default" && f.Type.Kind() == reflect.String {
				r.defText = val
				prop.Default = []byte(strconv.Quote(val))
				continue
			}
			if key == "default" && f.Type == reflect.TypeFor[*bool]() {
				// nil is the default; the tool reads it so.
				b, err := strconv.ParseBool(val)
				if err != nil {
					return nil, fmt.Errorf("argument %s: default: %w", name, err)
				}
				prop.Default = []byte(strconv.FormatBool(b))
				continue
			}
			switch key {
			case "min", "max", "default":
				n, err := limitValue(val, def, top, key == "default")
				if err != nil {
					return nil, fmt.Errorf("argument %s: %s: %w", name, key, err)
				}
				switch key {
				case "min":
					r.min, r.hasFloor = &n, n >= 1
					prop.Minimum = new(float64(n))
				case "max":
					r.max = &n
					prop.Maximum = new(float64(n))
				default:
					r.def = &n
					prop.Default = []byte(strconv.Itoa(n))
				}
			case "enum":
				r.enum = strings.Split(val, "|")
				target := prop
				if prop.Items != nil {
					target = prop.Items
				}
				for _, v := range r.enum {
					target.Enum = append(target.Enum, v)
				}
			case "alias":
				j, ok := byName[val]
				if !ok {
					return nil, fmt.Errorf("argument %s: alias of unknown argument %s", name, val)
				}
				r.aliasOf, r.primary = j, val
			default:
				return nil, fmt.Errorf("argument %s: unknown schema key %q", name, key)
			}
		}
		if r.def != nil && r.min == nil {
			return nil, fmt.Errorf("argument %s: a default needs a minimum, to tell it from an explicit 0", name)
		}
		rules = append(rules, r)
	}
	// An alias has its argument's range and set.
	for i, r := range rules {
		if r.aliasOf < 0 {
			continue
		}
		for _, p := range rules {
			if p.index == r.aliasOf {
				rules[i].min, rules[i].max, rules[i].enum, rules[i].hasFloor = p.min, p.max, p.enum, p.hasFloor
				prop, pp := schema.Properties[r.name], schema.Properties[p.name]
				prop.Minimum, prop.Maximum = pp.Minimum, pp.Maximum
				if pp.Items != nil && prop.Items != nil {
					prop.Items.Enum = pp.Items.Enum
				} else {
					prop.Enum = pp.Enum
				}
			}
		}
	}
	return rules, nil
}

// limitsInt are a Server's limits in the units of arguments.
type limitsInt struct{ rows, bytes, seconds int }

func limitValue(s string, def, top limitsInt, isDefault bool) (int, error) {
	l := top
	if isDefault {
		l = def
	}
	switch s {
	case "$rows":
		return l.rows, nil
	case "$bytes":
		return l.bytes, nil
	case "$seconds":
		return l.seconds, nil
	}
	return strconv.Atoi(s)
}

func limitsOf(rows, bytes int, timeout time.Duration) limitsInt {
	return limitsInt{rows: rows, bytes: bytes, seconds: int(timeout / time.Second)}
}

// prepare marks the integer arguments with a floor as not sent, before the
// call's arguments are decoded over them.
func prepare(rules []argRule, v reflect.Value) {
	for _, r := range rules {
		if f := v.Field(r.index); r.hasFloor && f.Kind() == reflect.Int {
			f.SetInt(omitted)
		}
	}
}

// enforce checks decoded arguments against their rules, folds aliases into
// the arguments they name and fills in the defaults of those not sent.
func enforce(rules []argRule, v reflect.Value) error {
	for _, r := range rules {
		f := v.Field(r.index)
		switch f.Kind() {
		case reflect.Int:
			n := int(f.Int())
			if n == omitted {
				f.SetInt(0)
				continue
			}
			if r.min != nil && n < *r.min || r.max != nil && n > *r.max {
				return rangeError(r, n)
			}
		case reflect.String:
			if err := checkEnum(r, f.String()); err != nil {
				return err
			}
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				for i := range f.Len() {
					if err := checkEnum(r, f.Index(i).String()); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, r := range rules {
		if r.aliasOf < 0 {
			continue
		}
		alias, primary := v.Field(r.index), v.Field(r.aliasOf)
		if alias.IsZero() {
			continue
		}
		if !primary.IsZero() && !reflect.DeepEqual(alias.Interface(), primary.Interface()) {
			return fmt.Errorf("%s and %s are the same setting and disagree: give one", r.name, r.primary)
		}
		primary.Set(alias)
		alias.SetZero()
	}
	for _, r := range rules {
		switch f := v.Field(r.index); {
		case r.def != nil && f.Kind() == reflect.Int && f.Int() == 0:
			f.SetInt(int64(*r.def))
		case r.defText != "" && f.Kind() == reflect.String && f.String() == "":
			f.SetString(r.defText)
		}
	}
	return nil
}

func rangeError(r argRule, n int) error {
	switch {
	case r.min != nil && r.max != nil:
		return fmt.Errorf("%s must be between %d and %d, got %d", r.name, *r.min, *r.max, n)
	case r.min != nil:
		return fmt.Errorf("%s must be at least %d, got %d", r.name, *r.min, n)
	}
	return fmt.Errorf("%s must be at most %d, got %d", r.name, *r.max, n)
}

func checkEnum(r argRule, s string) error {
	if r.enum == nil || s == "" || slices.ContainsFunc(r.enum, func(e string) bool { return strings.EqualFold(e, s) }) {
		return nil
	}
	return fmt.Errorf("%s must be one of %s; got %q", r.name, strings.Join(r.enum, ", "), s)
}
