package model

// defaultSeed is the key hash's seed when Options.Seed is zero: fixed, so
// that a model is deterministic.
const defaultSeed = 0x9e3779b97f4a7c15

// Kinds of key, the first input of every key hash.
const (
	kindAccount = 1 + iota // (payer, payerAccount)
	kindAlias              // (alias, "")
)

// key returns the key hash of kind over a and b: never 0, the tables'
// free mark. Each string is hashed with its length, so that no two
// different pairs share an input.
func key(seed uint64, kind uint64, a, b string) uint64 {
	h := hashString(mix(seed^kind), a)
	h = hashString(h, b)
	if h == 0 {
		return 1
	}
	return h
}

// hashString folds s into h eight bytes at a time.
func hashString(h uint64, s string) uint64 {
	h = mix(h ^ uint64(len(s))*0xff51afd7ed558ccd)
	for len(s) >= 8 {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = mix(h ^ v)
		s = s[8:]
	}
	var v uint64
	for i := range len(s) {
		v |= uint64(s[i]) << (8 * i)
	}
	return mix(h ^ v ^ 0xc4ceb9fe1a85ec53)
}

// mix is the finalizer of MurmurHash3, a bijection of uint64.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
