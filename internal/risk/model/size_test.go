package model

import (
	"testing"
	"unsafe"
)

func TestStateSizes(t *testing.T) {
	if s := unsafe.Sizeof(account{}); s != accountSize {
		t.Errorf("account is %d bytes, accountSize says %d", s, accountSize)
	}
	if s := unsafe.Sizeof(alias{}); s != aliasSize {
		t.Errorf("alias is %d bytes, aliasSize says %d", s, aliasSize)
	}
}
