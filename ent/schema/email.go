package schema

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// EmailPattern is the seed's validate_format(:email, ~r/\S+@\S+\.\S+/),
// anchored so the whole value must match.
var EmailPattern = regexp.MustCompile(`^\S+@\S+\.\S+$`)

// NormalizeEmail is how every stored email is spelled, so that addresses
// that look alike are one address and collide in the unique index:
// trimmed, NFKC-normalized (a fullwidth "ａ" is "a", the ligature "ﬁ" is
// "fi"), lower-cased, and the domain in its ASCII form (IDNA: "bücher.de"
// is "xn--bcher-kva.de", whichever way it was typed). A domain that IDNA
// refuses is kept lower-cased, for validation to reject.
func NormalizeEmail(s string) string {
	s = strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	if d, err := NormalizeDomain(s[at+1:]); err == nil {
		s = s[:at+1] + d
	}
	return s
}

// NormalizeDomain returns a mail domain in its ASCII (IDNA) form, as
// NormalizeEmail stores it, or an error when it is not a valid domain name.
func NormalizeDomain(d string) (string, error) {
	return idna.Lookup.ToASCII(strings.ToLower(norm.NFKC.String(strings.TrimSpace(d))))
}

// HasHiddenRunes reports whether s holds a character that shows nothing or
// changes how the rest shows, and so can make one address look like
// another: control characters, bidi controls (U+202E), zero-width and
// other format characters, separators (spaces of every width),
// variation selectors and the other default-ignorable characters.
func HasHiddenRunes(s string) bool {
	return strings.IndexFunc(s, hidden) >= 0
}

func hidden(r rune) bool {
	return r == '\uFFFD' || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Z,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}
