package mld

// The Maximum Response Code and the Querier's Query Interval Code (RFC 3810 §5.1.3, §5.1.9)
// hold small values literally and larger ones as a floating-point mantissa and exponent.

const (
	maxRespLiteral = 1 << 15                 // codes below this are milliseconds
	maxRespMax     = (0x0fff | 0x1000) << 10 // exp 7, mant 0xfff
	qqicLiteral    = 1 << 7                  // codes below this are seconds
	qqicMax        = (0x0f | 0x10) << 10     // exp 7, mant 0xf
)

// decodeMaxRespCode returns the Maximum Response Delay in milliseconds.
func decodeMaxRespCode(c uint16) int64 {
	if c < maxRespLiteral {
		return int64(c)
	}
	exp := (c >> 12) & 0x7
	mant := c & 0x0fff
	return int64(mant|0x1000) << (exp + 3)
}

// encodeMaxRespCode returns the code for ms milliseconds, rounded down, clamped to the maximum.
func encodeMaxRespCode(ms int64) uint16 {
	switch {
	case ms <= 0:
		return 0
	case ms < maxRespLiteral:
		return uint16(ms)
	case ms >= maxRespMax:
		return 0xffff
	}
	for exp := uint16(7); ; exp-- {
		if ms >= int64(0x1000)<<(exp+3) {
			mant := uint16(ms>>(exp+3)) & 0x0fff
			return 0x8000 | exp<<12 | mant
		}
	}
}

// decodeQQIC returns the Querier's Query Interval in seconds.
func decodeQQIC(c uint8) int64 {
	if c < qqicLiteral {
		return int64(c)
	}
	exp := (c >> 4) & 0x7
	mant := c & 0x0f
	return int64(mant|0x10) << (exp + 3)
}

// encodeQQIC returns the code for s seconds, rounded down, clamped to the maximum.
func encodeQQIC(s int64) uint8 {
	switch {
	case s <= 0:
		return 0
	case s < qqicLiteral:
		return uint8(s)
	case s >= qqicMax:
		return 0xff
	}
	for exp := uint8(7); ; exp-- {
		if s >= int64(0x10)<<(exp+3) {
			mant := uint8(s>>(exp+3)) & 0x0f
			return 0x80 | exp<<4 | mant
		}
	}
}
