package directory

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaskName masks a full name for confirmation of payee: enough for the
// payer to recognize the payee, not enough to learn the name.
//
//   - Several words (split on any white space, ideographic space
//     included): each keeps its first character and the rest become '*';
//     words are joined by one space ("Zhang San" → "Z**** S**").
//   - One word with Chinese, Japanese or Korean characters: only the
//     last character is kept ("张三" → "*三", "欧阳娜娜" → "***娜"), since
//     the family name comes first and is the common part, as Chinese
//     payment apps show it.
//   - One word of other scripts: the first character is kept ("Madonna"
//     → "M******").
//   - A name of only white space, or empty, masks to "".
//
// Characters are runes, never bytes; every masked rune becomes one '*',
// so the length of each word remains visible, as it does in every
// confirmation-of-payee scheme.
func MaskName(name string) string {
	words := strings.Fields(name)
	switch len(words) {
	case 0:
		return ""
	case 1:
		if hasCJK(words[0]) {
			return keepLast(words[0])
		}
	}
	var b strings.Builder
	b.Grow(len(name))
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		r, size := utf8.DecodeRuneInString(w)
		b.WriteRune(r)
		stars(&b, utf8.RuneCountInString(w[size:]))
	}
	return b.String()
}

func keepLast(w string) string {
	r, size := utf8.DecodeLastRuneInString(w)
	var b strings.Builder
	n := utf8.RuneCountInString(w[:len(w)-size])
	b.Grow(n + size)
	stars(&b, n)
	b.WriteRune(r)
	return b.String()
}

func stars(b *strings.Builder, n int) {
	for range n {
		b.WriteByte('*')
	}
}

// hasCJK reports whether w has a Han, kana or Hangul character.
func hasCJK(w string) bool {
	for _, r := range w {
		if r >= 0x1100 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			return true
		}
	}
	return false
}
