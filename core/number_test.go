package core

import (
	"errors"
	"testing"
)

func TestNormalizeFaxE164(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"5550103", "5550103", true},
		{"+1 (555) 010-3999", "+15550103999", true},
		{"+123456789012345", "+123456789012345", true},          // 15 digits
		{"+1234567890123456", "", false},                        // 16
		{"011 49 30 1234 5678 901", "011493012345678901", true}, // 15 after 011
		{"00 49 30 1234 5678 9012", "", false},                  // 16 after 00
		{"9,0049 30 1234 5678 90", "9,0049301234567890", true},  // access code and pause first
		{"123456789012345678901234567", "", false},              // the 27-digit number of issue 18
		{"555*123#", "555*123#", true},
		{"", "", false},
		{"555-CALL", "", false},
	}
	for _, tc := range tests {
		got, err := NormalizeFax(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("NormalizeFax(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeFax(%q): %v is not ErrInvalid", tc.in, err)
		}
	}
}
