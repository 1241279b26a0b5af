package exclude

// The matcher below follows rsync's lib/wildmatch.c (Rich Salz's wildmat, extended by Wayne
// Davison for rsync): `*` stops at `/`, `**` does not, `?` and classes never match `/`.

// match results; abortAll and abortToStarStar prune the search as wildmatch.c does, which
// keeps matching linear in practice instead of exponential in the number of stars.
const (
	noMatch = iota
	matched
	abortAll
	abortToStarStar
)

// wildmatchAt matches pattern against text as rsync's wildmatch_array does with where:
// 0 = the whole text; n > 0 = exactly the last n slash-separated elements of text;
// -1 = the whole text or any suffix that starts after a `/`.
func wildmatchAt(pattern, text string, where int) bool {
	switch {
	case where == 0:
		return dowild(pattern, text) == matched
	case where > 0:
		i := len(text)
		for n := 0; n < where; n++ {
			j := lastSlash(text[:i])
			if j < 0 {
				if n == where-1 {
					return dowild(pattern, text) == matched
				}
				return false // fewer elements than the pattern has
			}
			i = j
		}
		return dowild(pattern, text[i+1:]) == matched
	}
	for {
		switch dowild(pattern, text) {
		case matched:
			return true
		case abortAll:
			return false
		}
		j := indexSlash(text)
		if j < 0 {
			return false
		}
		text = text[j+1:]
	}
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func indexSlash(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func dowild(p, text string) int {
	pi, ti := 0, 0
	for ; pi < len(p); pi, ti = pi+1, ti+1 {
		pc := p[pi]
		if ti >= len(text) && pc != '*' {
			return abortAll
		}
		var tc byte
		if ti < len(text) {
			tc = text[ti]
		}
		switch pc {
		case '\\':
			pi++
			if pi >= len(p) {
				return noMatch // checked when the rule is parsed
			}
			if tc != p[pi] {
				return noMatch
			}
		case '?':
			if tc == '/' {
				return noMatch
			}
		case '*':
			special := false
			if pi+1 < len(p) && p[pi+1] == '*' {
				for pi+1 < len(p) && p[pi+1] == '*' {
					pi++
				}
				special = true
			}
			pi++
			if pi >= len(p) {
				// A trailing "**" matches everything, a trailing "*" anything but a "/".
				if !special && indexSlash(text[ti:]) >= 0 {
					return noMatch
				}
				return matched
			}
			for ; ti < len(text); ti++ {
				r := dowild(p[pi:], text[ti:])
				if r != noMatch {
					if !special || r != abortToStarStar {
						return r
					}
				} else if !special && text[ti] == '/' {
					return abortToStarStar
				}
			}
			return abortAll
		case '[':
			n, ok, err := matchClass(p[pi:], tc)
			if err != nil {
				return abortAll
			}
			if !ok || tc == '/' {
				return noMatch
			}
			pi += n - 1
		default:
			if tc != pc {
				return noMatch
			}
		}
	}
	if ti < len(text) {
		return noMatch
	}
	return matched
}
