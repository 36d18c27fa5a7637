package directory

import "testing"

func TestMaskName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Zhang San", "Z**** S**"},
		{"  Zhang   San ", "Z**** S**"},
		{"Zhang\tSan", "Z**** S**"},
		{"Maria da Silva Santos", "M**** d* S**** S*****"},
		{"Madonna", "M******"},
		{"A", "A"},
		{"Ólafur Ragnar", "Ó***** R*****"}, // one rune, two bytes
		{"Ольга Иванова", "О**** И******"}, // Cyrillic
		{"张三", "*三"},
		{"欧阳娜娜", "***娜"},
		{"张", "张"},
		{"欧阳 娜娜", "欧* 娜*"},           // separated: the multi-word rule
		{"张　三", "张 三"},               // ideographic space separates too
		{"阿卜杜拉·买买提", "*******提"},     // middle dot is part of the word
		{"김민수", "**수"},               // Hangul
		{"やまだたろう", "*****う"},         // Hiragana
		{"Zhang三", "*****三"},         // any CJK makes a word CJK
		{"😀 Smith", "😀 S****"},       // runes, not bytes
		{"Jos\u0065\u0301", "J****"}, // a combining mark is a rune
		{"\xffbc", "\uFFFD**"},       // invalid UTF-8 stays one rune per byte
	} {
		if got := MaskName(tc.in); got != tc.want {
			t.Errorf("MaskName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
