package query

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Each class of failure is named from an error of its kind (real dials and
// handshakes, a built DNS and server error), and the message names the FE
// but nothing of the cause's text.
func TestFailureClass(t *testing.T) {
	dial := func(addr string) error {
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	// A port that was listening and is closed now refuses.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	// A server that answers a TLS hello with plain text.
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	go func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("J\x00\x00\x00\x0a5.7.99\x00not tls at all, a MySQL greeting"))
			c.Close()
		}
	}()
	_, tlsErr := tls.Dial("tcp", plain.Addr().String(), &tls.Config{ServerName: "fe"})

	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, timeoutErr := (&net.Dialer{}).DialContext(ctx, "tcp", closed)

	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"dns", &net.DNSError{Err: "no such host", Name: "fe.invalid", IsNotFound: true}, "does not resolve"},
		{"refused", dial(closed), "refused"},
		{"tls", tlsErr, "TLS"},
		{"timeout", timeoutErr, "timed out"},
		{"auth", &mysql.MySQLError{Number: 1045, Message: "Access denied for user 'secret_user'@'h' (using password: YES)"}, "account was refused"},
		{"lost", mysql.ErrInvalidConn, "lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error to classify")
			}
			msg := (&UnavailableError{Addr: "fe1:9030", Cause: tc.err}).Error()
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "Doris at fe1:9030 could not be reached: ") {
				t.Errorf("%v: %q, want it to say %q", tc.err, msg, tc.want)
			}
			for _, leak := range []string{"secret_user", "password: YES", "127.0.0.1", "dial"} {
				if strings.Contains(msg, leak) {
					t.Errorf("%q shows %q", msg, leak)
				}
			}
		})
	}
	if msg := (&UnavailableError{Cause: errors.New("x")}).Error(); !strings.HasPrefix(msg, "Doris could not be reached: ") {
		t.Errorf("without an address: %q", msg)
	}
}
