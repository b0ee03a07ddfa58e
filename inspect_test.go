package doris

import "testing"

// The gate reads a body as the go-sdk does: exact-case keys, "method" with
// a non-null id is a call.
func TestInspect(t *testing.T) {
	for _, tc := range []struct {
		body         string
		work, listen bool
		id           any
	}{
		{`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}`, true, false, int64(7)},
		{`{"jsonrpc":"2.0","id":"a","method":"tools/call"}`, true, false, "a"},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, false, false, nil},
		{`{"jsonrpc":"2.0","id":3,"result":{}}`, false, false, nil},
		{`{"jsonrpc":"2.0","id":null,"method":"tools/call"}`, false, false, nil},
		{`{"jsonrpc":"2.0","id":7,"method":"tools/call","METHOD":""}`, true, false, int64(7)},
		{`{"jsonrpc":"2.0","ID":7,"method":"tools/call"}`, false, false, nil},
		{`{"jsonrpc":"2.0","id":8,"method":""}`, true, false, int64(8)},
		{`{"jsonrpc":"2.0","id":9,"method":"subscriptions/listen"}`, false, true, nil},
		{` [{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]`, true, false, int64(2)},
		{`not json`, true, false, nil},
		{``, true, false, nil},
	} {
		id, work, listen := inspect([]byte(tc.body))
		if work != tc.work || listen != tc.listen || id.Raw() != tc.id {
			t.Errorf("%s: work %v listen %v id %#v; want %v %v %#v", tc.body, work, listen, id.Raw(), tc.work, tc.listen, tc.id)
		}
	}
}
