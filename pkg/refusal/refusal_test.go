package refusal

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorf(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    bool
		wantMsg string
	}{
		{"refusal", Errorf("unknown command %q", "scp"), true, `refused: unknown command "scp"`},
		{"wrapped", fmt.Errorf("serve: %w", Errorf("x")), true, "serve: refused: x"},
		{"percent in the reason", Errorf("%v", errors.New("100% sure")), true, "refused: 100% sure"},
		{"failure", errors.New("CKR_DEVICE_ERROR"), false, "CKR_DEVICE_ERROR"},
		{"failure that says refused", fmt.Errorf("token: %v", Errorf("x")), false, "token: refused: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, Err); got != tt.want {
				t.Errorf("errors.Is(%v, Err) = %v, want %v", tt.err, got, tt.want)
			}
			if got := tt.err.Error(); got != tt.wantMsg {
				t.Errorf("message = %q, want %q", got, tt.wantMsg)
			}
		})
	}
}
