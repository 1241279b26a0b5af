package mld

import (
	"slices"
	"strings"
	"testing"
)

// gotRecord is a record flattened for comparison.
type gotRecord struct {
	typ     RecordType
	group   string
	sources string
	aux     int
}

func flatten(r Report) []gotRecord {
	var out []gotRecord
	for rec := range r.Records() {
		var src []string
		for i := 0; i < rec.NumSources; i++ {
			src = append(src, rec.Source(i).String())
		}
		out = append(out, gotRecord{rec.Type, rec.Group.String(), strings.Join(src, ","), rec.AuxWords})
	}
	return out
}

func TestParseReportCaptured(t *testing.T) {
	msgs := captured(t)
	cases := []struct {
		name string
		want []gotRecord
	}{
		{"v2-join-any", []gotRecord{{ChangeToExclude, "ff15::6c63:1", "", 0}}},
		{"v2-join-two-merged", []gotRecord{
			{ChangeToExclude, "ff15::6c63:3", "", 0},
			{ChangeToExclude, "ff15::6c63:2", "", 0},
		}},
		{"v2-host-own-groups", []gotRecord{
			{ChangeToExclude, "ff02::1:ff0e:6d43", "", 0},
			{ChangeToExclude, "ff02::6a", "", 0},
		}},
		{"v2-ssm-allow", []gotRecord{{AllowNewSources, "ff35::6c63:4", "fd00::a", 0}}},
		{"v2-answer-six-records", []gotRecord{
			{ModeIsInclude, "ff35::6c63:4", "fd00::a", 0},
			{ModeIsExclude, "ff15::6c63:3", "", 0},
			{ModeIsExclude, "ff15::6c63:2", "", 0},
			{ModeIsExclude, "ff15::6c63:1", "", 0},
			{ModeIsExclude, "ff02::1:ff00:101", "", 0},
			{ModeIsExclude, "ff02::1:ff38:feb7", "", 0},
		}},
		{"v2-ssm-block", []gotRecord{{BlockOldSources, "ff35::6c63:4", "fd00::a", 0}}},
		{"v2-exclude-block", []gotRecord{{BlockOldSources, "ff15::6c63:2", "fd00::c", 0}}},
		{"v2-leave", []gotRecord{{ChangeToInclude, "ff15::6c63:1", "", 0}}},
		{"v2-answer-exclude-with-source", []gotRecord{
			{ModeIsInclude, "ff35::6c63:4", "fd00::b", 0},
			{ModeIsExclude, "ff15::6c63:3", "", 0},
			{ModeIsExclude, "ff15::6c63:2", "fd00::c", 0},
			{ModeIsExclude, "ff02::1:ff00:101", "", 0},
			{ModeIsExclude, "ff02::1:ff38:feb7", "", 0},
		}},
		{"v2-socket-closed", []gotRecord{
			{ChangeToInclude, "ff15::6c63:2", "", 0},
			{ChangeToInclude, "ff15::6c63:3", "", 0},
			{BlockOldSources, "ff35::6c63:4", "fd00::b", 0},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := msgs[tc.name]
			if !ok {
				t.Fatalf("no captured message %q", tc.name)
			}
			r, err := ParseReport(b)
			if err != nil {
				t.Fatal(err)
			}
			if r.Len() != len(tc.want) {
				t.Errorf("Len() = %d, want %d", r.Len(), len(tc.want))
			}
			if got := flatten(r); !slices.Equal(got, tc.want) {
				t.Errorf("records\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestParseReportSynthetic(t *testing.T) {
	cases := []struct {
		name string
		msg  []byte
		want []gotRecord
	}{
		{"no records", buildReport(), nil},
		{"aux data stepped over", buildReport(
			rec{typ: ModeIsExclude, group: "ff15::1", aux: 3},
			rec{typ: ChangeToInclude, group: "ff15::2", sources: []string{"fd00::1", "fd00::2"}, aux: 1},
			rec{typ: ChangeToExclude, group: "ff15::3"},
		), []gotRecord{
			{ModeIsExclude, "ff15::1", "", 3},
			{ChangeToInclude, "ff15::2", "fd00::1,fd00::2", 1},
			{ChangeToExclude, "ff15::3", "", 0},
		}},
		{"unknown record type passed through", buildReport(rec{typ: 99, group: "ff15::9"}),
			[]gotRecord{{99, "ff15::9", "", 0}}},
		{"trailing bytes ignored", append(buildReport(rec{typ: ChangeToExclude, group: "ff15::1"}), 1, 2, 3),
			[]gotRecord{{ChangeToExclude, "ff15::1", "", 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseReport(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got := flatten(r); !slices.Equal(got, tc.want) {
				t.Errorf("records\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestParseReportMalformed(t *testing.T) {
	one := buildReport(rec{typ: ChangeToExclude, group: "ff15::1", sources: []string{"fd00::1"}, aux: 1})
	withNrec := func(b []byte, n uint16) []byte {
		c := slices.Clone(b)
		c[6], c[7] = byte(n>>8), byte(n)
		return c
	}
	cases := []struct {
		name    string
		msg     []byte
		wantErr string
	}{
		{"empty", nil, "shorter than its 8-byte header"},
		{"7 bytes", one[:7], "shorter than its 8-byte header"},
		{"wrong type", append([]byte{TypeV1Report}, one[1:]...), "not an mldv2 report"},
		{"more records than bytes", withNrec(one, 2), "record 1 of 2"},
		{"max records, none present", withNrec(one[:8], 0xffff), "record 0 of 65535"},
		{"record header cut", one[:8+19], "a record header needs 20"},
		{"source cut", one[:8+20+15], "1 sources"},
		{"aux data cut", one[:len(one)-1], "1 aux words"},
		{"huge source count", func() []byte {
			c := slices.Clone(one)
			c[10], c[11] = 0xff, 0xff
			return c
		}(), "65535 sources"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseReport(tc.msg)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "mld: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to start with \"mld: \" and contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseReportZeroAlloc(t *testing.T) {
	b := captured(t)["v2-answer-six-records"]
	var groups int
	allocs := testing.AllocsPerRun(100, func() {
		r, err := ParseReport(b)
		if err != nil {
			t.Fatal(err)
		}
		for rec := range r.Records() {
			if rec.Group.IsMulticast() {
				groups++
			}
			for i := 0; i < rec.NumSources; i++ {
				_ = rec.Source(i)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("ParseReport + Records allocated %.1f times per run", allocs)
	}
}

func TestRecordTypeString(t *testing.T) {
	cases := []struct {
		typ  RecordType
		want string
	}{
		{ModeIsInclude, "MODE_IS_INCLUDE"},
		{ModeIsExclude, "MODE_IS_EXCLUDE"},
		{ChangeToInclude, "CHANGE_TO_INCLUDE_MODE"},
		{ChangeToExclude, "CHANGE_TO_EXCLUDE_MODE"},
		{AllowNewSources, "ALLOW_NEW_SOURCES"},
		{BlockOldSources, "BLOCK_OLD_SOURCES"},
		{0, "RecordType(0)"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.typ.String(); got != tc.want {
				t.Errorf("String() = %q", got)
			}
		})
	}
}

func TestParseV1(t *testing.T) {
	msgs := captured(t)
	cases := []struct {
		name    string
		msg     []byte
		want    V1Message
		wantErr string
	}{
		{"captured report", msgs["v1-report"], V1Message{TypeV1Report, addr("ff15::6c63:9")}, ""},
		{"captured done", msgs["v1-done"], V1Message{TypeV1Done, addr("ff15::6c63:9")}, ""},
		{"longer than 24 bytes", append(buildV1(TypeV1Report, "ff15::1"), 0, 0), V1Message{TypeV1Report, addr("ff15::1")}, ""},
		{"23 bytes", buildV1(TypeV1Report, "ff15::1")[:23], V1Message{}, "23 bytes"},
		{"query is not v1 report", msgs["v1-general-query"], V1Message{}, "type 130"},
		{"v2 report", msgs["v2-join-any"], V1Message{}, "type 143"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseV1(tc.msg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
