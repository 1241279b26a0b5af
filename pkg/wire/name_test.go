package wire

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	comp255 := strings.Repeat("c", MaxComponentLen)
	// 15 components of 255 bytes, one of 253 and "z", with their slashes: 4096 bytes.
	long4096 := strings.Repeat(comp255+"/", 16)[:MaxNameLen-2] + "/z"
	cases := []struct {
		name string
		in   string
		msg  string // "" means canonical
	}{
		{"single component", "share", ""},
		{"nested", "share/a/b.txt", ""},
		{"hidden file", "share/.hidden", ""},
		{"dots inside", "share/..x/x../a.b", ""},
		{"three dots", "share/...", ""},
		{"space and unicode", "share/ä ö/日本", ""},
		{"invalid utf-8", "share/\xff\xfe", ""},
		{"backslash is a byte", `share\..`, ""},
		{"longest component", "share/" + comp255, ""},
		{"longest name", long4096, ""},
		{"empty", "", "is empty"},
		{"absolute", "/etc/passwd", "is absolute"},
		{"root", "/", "is absolute"},
		{"trailing slash", "share/", "ends with '/'"},
		{"double slash", "share//a", "empty component"},
		{"dot", ".", `"." component`},
		{"dot dot", "..", `".." component`},
		{"leading dot dot", "../etc/passwd", `".." component`},
		{"inner dot dot", "share/a/../../etc", `".." component`},
		{"trailing dot dot", "share/..", `".." component`},
		{"inner dot", "share/./a", `"." component`},
		{"nul byte", "share/a\x00b", "NUL byte at offset 7"},
		{"component too long", "share/" + comp255 + "c", "component longer than 255 bytes"},
		{"name too long", long4096 + "z", "longer than 4096 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckName(tc.in)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("CheckName(%.80q) = %v, want nil", tc.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckName(%.80q) = nil, want an error mentioning %q", tc.in, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "wire: name ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("CheckName(%.80q) = %q, want wire: name ... %s", tc.in, err, tc.msg)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long; hostile names must be cut", len(err.Error()))
			}
		})
	}
	if len(long4096) != MaxNameLen {
		t.Fatalf("test setup: long name is %d bytes", len(long4096))
	}
}

func TestCheckShareName(t *testing.T) {
	cases := []struct {
		name string
		in   string
		msg  string
	}{
		{"plain", "share", ""},
		{"file name", "f.iso", ""},
		{"two components", "a/b", "more than one component"},
		{"empty", "", "is empty"},
		{"dot dot", "..", `".." component`},
		{"absolute", "/share", "is absolute"},
		{"trailing slash", "share/", "ends with '/'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckShareName(tc.in)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("CheckShareName(%q) = %v", tc.in, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "wire: share name ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("CheckShareName(%q) = %v, want an error mentioning %q", tc.in, err, tc.msg)
			}
		})
	}
}
