package ilp

import (
	"testing"
	"time"
)

// The per-quote and per-transfer costs the switch pays as a payee's agent.
func BenchmarkILP(b *testing.B) {
	v := loadVectors(b, "ilp-vectors.json")
	txn := v.dto()
	secret := []byte(v.Secret)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	b.Run("Build/v1", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := Build(secret, 1, 10050, "g.payeefsp.msisdn.27713803912", txn, at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Build/v4", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := Build(secret, 4, 10050, MojaloopAddress, txn, at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode/v1", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(v.V1.IlpPacket); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FulfilPacket/v1", func(b *testing.B) {
		for b.Loop() {
			if _, err := FulfilPacket(secret, v.V1.IlpPacket); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Check", func(b *testing.B) {
		for b.Loop() {
			if err := Check(v.V1.Fulfilment, v.V1.Condition); err != nil {
				b.Fatal(err)
			}
		}
	})
}
