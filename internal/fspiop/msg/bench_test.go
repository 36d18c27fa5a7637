package msg

import (
	"encoding/json"
	"os"
	"testing"
)

func benchDecode(b *testing.B, name string, newBody func() interface{ Validate() error }) {
	body, err := os.ReadFile("testdata/examples/" + name + ".json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(body, newBody()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTransfersPost(b *testing.B) {
	benchDecode(b, "TransfersPost", func() interface{ Validate() error } { return new(TransfersPost) })
}

func BenchmarkDecodeQuotesPost(b *testing.B) {
	benchDecode(b, "QuotesPost", func() interface{ Validate() error } { return new(QuotesPost) })
}

func BenchmarkDecodeTransfersPut(b *testing.B) {
	benchDecode(b, "TransfersPut", func() interface{ Validate() error } { return new(TransfersPut) })
}

// BenchmarkUnmarshalTransfersPost is encoding/json alone, for
// comparison with Decode's extra pass and validation.
func BenchmarkUnmarshalTransfersPost(b *testing.B) {
	body, err := os.ReadFile("testdata/examples/TransfersPost.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v TransfersPost
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}
