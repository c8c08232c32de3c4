package remote

import (
	"errors"
	"strings"
	"testing"

	"signstar/pkg/refusal"
)

func TestParseLog(t *testing.T) {
	tests := []struct {
		line    string
		want    LogQuery
		wantErr string
	}{
		{"log checkpoint", LogQuery{What: LogCheckpoint}, ""},
		{"log  checkpoint ", LogQuery{What: LogCheckpoint}, ""},
		{"log proof 0", LogQuery{What: LogProof}, ""},
		{"log proof 41", LogQuery{What: LogProof, Index: 41}, ""},
		{"log proof 41 200", LogQuery{What: LogProof, Index: 41, Size: 200}, ""},
		{"log proof 9223372036854775806 9223372036854775807", LogQuery{What: LogProof, Index: 1<<63 - 2, Size: 1<<63 - 1}, ""},
		{"log consistency 10 200", LogQuery{What: LogConsistency, Old: 10, Size: 200}, ""},
		{"log consistency 7 7", LogQuery{What: LogConsistency, Old: 7, Size: 7}, ""},
		{"log", LogQuery{}, "log needs checkpoint"},
		{"log checkpoint 5", LogQuery{}, "log checkpoint takes no arguments"},
		{"log proof", LogQuery{}, "log proof takes INDEX"},
		{"log proof 1 2 3", LogQuery{}, "log proof takes INDEX"},
		{"log proof 5 5", LogQuery{}, "index 5 is not in a tree of 5"},
		{"log proof 6 5", LogQuery{}, "index 6 is not in a tree of 5"},
		{"log proof -1", LogQuery{}, `"-1" is not a decimal number`},
		{"log proof +1", LogQuery{}, `"+1" is not a decimal number`},
		{"log proof 01", LogQuery{}, `"01" is not a decimal number`},
		{"log proof 0x10", LogQuery{}, "not a decimal number"},
		{"log proof 9223372036854775808", LogQuery{}, "not a decimal number"},
		{"log proof --key=a 1", LogQuery{}, "not a decimal number"},
		{"log consistency 5", LogQuery{}, "two tree sizes"},
		{"log consistency 0 5", LogQuery{}, "want 0 < OLD <= NEW"},
		{"log consistency 6 5", LogQuery{}, "want 0 < OLD <= NEW"},
		{"log tiles", LogQuery{}, `unknown log command "tiles"`},
		{"log ../checkpoint", LogQuery{}, "unknown log command"},
		{"LOG checkpoint", LogQuery{}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c, err := Parse(tt.line)
			switch {
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Parse accepted it: %+v", c)
			case tt.wantErr != "" && (!errors.Is(err, refusal.Err) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Parse: %v, want a refusal containing %q", err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr == "" && !c.Equal(Command{Action: Log, Log: tt.want}):
				t.Fatalf("Parse = %+v, want %+v", c, tt.want)
			}
		})
	}
}
