package modules

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestTPM2Access(t *testing.T) {
	store := t.TempDir()
	if err := os.WriteFile(filepath.Join(store, "tpm2_pkcs11.sqlite3"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, store, tcti string
		wantKeep          []string
		wantStreams       bool
		wantErr           bool
	}{
		{name: "tabrmd", store: store, tcti: "tabrmd:bus_type=session", wantKeep: []string{store}, wantStreams: true},
		{name: "tabrmd library", store: store, tcti: "libtss2-tcti-tabrmd.so.0", wantKeep: []string{store}, wantStreams: true},
		{name: "TSS default", store: store, wantKeep: []string{store, "/dev/tpmrm0", "/dev/tpm0"}, wantStreams: true},
		{name: "device", store: store, tcti: "device:/dev/tpmrm0", wantKeep: []string{store, "/dev/tpmrm0"}, wantStreams: true},
		{name: "device default", store: store, tcti: "device", wantKeep: []string{store, "/dev/tpm0"}, wantStreams: true},
		{name: "swtpm over TCP", store: store, tcti: "swtpm:port=2321", wantKeep: []string{store}},
		{name: "store with trailing slash", store: store + "/", tcti: "swtpm", wantKeep: []string{store}},
		{name: "no database", store: t.TempDir(), wantErr: true},
		{name: "relative store", store: "relative", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tpm2Access(tt.store, tt.tcti)
			keep, streams := a.KeepOpen, a.Streams
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if !slices.Equal(keep, tt.wantKeep) || streams != tt.wantStreams {
				t.Errorf("got %q, streams %t; want %q, streams %t", keep, streams, tt.wantKeep, tt.wantStreams)
			}
		})
	}
}
