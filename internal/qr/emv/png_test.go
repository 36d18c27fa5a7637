package emv

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	skip2 "github.com/skip2/go-qrcode"

	"github.com/hulian/hulian/internal/money"
)

// TestPNG draws codes and reads them back with ZXing (and zbarimg where
// it is installed): the image must decode to exactly the payload.
func TestPNG(t *testing.T) {
	_, payloads := golden(t)
	long, _ := padding(PayloadMaxChars)
	zbar, _ := exec.LookPath("zbarimg")
	if zbar == "" && os.Getenv("HULIAN_REQUIRE_ZBARIMG") != "" {
		t.Fatal("zbarimg is missing: apt-get install -y zbar-tools")
	}
	for _, c := range []struct {
		name    string
		payload string
		size    int
	}{
		{"static", payloads["hulian-static"], 256},
		{"dynamic", payloads["hulian-dynamic"], 300},
		{"dynamic, small", payloads["hulian-dynamic"], 60},
		{"EMVCo example, UTF-8", payloads["emvco-v1.1"], 512},
		{"512 characters", seal(hulianBody() + long), 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := PNG(c.payload, c.size)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			side := img.Bounds().Dx()
			if img.Bounds().Dy() != side {
				t.Errorf("image of %v is not square", img.Bounds())
			}
			if side > c.size && c.size >= 100 {
				t.Errorf("image of %d px, asked for at most %d", side, c.size)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
			if err != nil {
				t.Fatalf("ZXing cannot read the %d px image: %v", side, err)
			}
			if res.GetText() != c.payload {
				t.Errorf("ZXing reads\n%q\nnot\n%q", res.GetText(), c.payload)
			}
			if level := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL]; level != "M" {
				t.Errorf("error correction level %v, want M", level)
			}
			if zbar == "" {
				return
			}
			file := filepath.Join(t.TempDir(), "code.png")
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(zbar, "--quiet", "--raw", file).Output()
			if err != nil {
				t.Fatalf("zbarimg: %v", err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != c.payload {
				t.Errorf("zbarimg reads\n%q\nnot\n%q", got, c.payload)
			}
		})
	}
	if zbar == "" {
		t.Log("zbarimg not installed: read back with ZXing only")
	}
}

// TestPNGRandom draws random dynamic codes at random sizes: every one
// must be drawn, and read back both by ZXing's detector (as PNG checks)
// and by its pure-barcode reader, which finds the symbol another way.
func TestPNGRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 0))
	pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	for i := range 200 {
		c := hulianDynamic()
		c.MerchantID = fmt.Sprintf("m-%d", r.IntN(10_000_000))
		c.Amount = money.Amount(1 + r.IntN(10_000_000))
		c.Reference = fmt.Sprintf("r-%x", r.Uint64())
		p, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		size := 100 + r.IntN(700)
		b, err := PNG(p, size)
		if err != nil {
			t.Fatalf("seed %d, code %d: PNG(%q, %d): %v", seed, i, p, size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := readBack(img); got != p {
			t.Fatalf("seed %d, code %d: ZXing reads %q, not %q", seed, i, got, p)
		}
		bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
		res, err := qrcode.NewQRCodeReader().Decode(bmp, pure)
		if err != nil || res.GetText() != p {
			t.Fatalf("seed %d, code %d: pure read of %q at %d px: %v", seed, i, p, size, err)
		}
	}
}

// TestPNGFallsBack: skip2's first symbol for the EMVCo example is one
// ZXing's detector cannot find at 7 px a module; PNG must notice and draw
// the next version instead.
func TestPNGFallsBack(t *testing.T) {
	_, payloads := golden(t)
	p := payloads["emvco-v1.1"]
	q, err := skip2.New(p, skip2.Medium)
	if err != nil {
		t.Fatal(err)
	}
	if readBack(q.Image(-7)) == p {
		t.Skip("the QR library's first symbol now reads back: no fallback to test")
	}
	b, err := PNG(p, 7*len(q.Bitmap()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := readBack(img); got != p {
		t.Fatalf("ZXing reads %q", got)
	}
	if side, v10 := img.Bounds().Dx(), 7*len(q.Bitmap()); side == v10 {
		t.Errorf("image of %d px, the size of the unreadable symbol", side)
	}
}

func BenchmarkPNG(b *testing.B) {
	_, payloads := golden(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PNG(payloads["hulian-dynamic"], 512); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPNGRefuses(t *testing.T) {
	long, _ := padding(PayloadMaxChars + 1)
	for _, c := range []struct {
		name    string
		payload string
		size    int
		want    error
	}{
		{"size 0", "x", 0, ErrImageSize},
		{"size negative", "x", -5, ErrImageSize},
		{"size over the maximum", "x", ImageMaxPx + 1, ErrImageSize},
		{"empty payload", "", 256, ErrField},
		{"payload over 512 characters", seal(hulianBody() + long), 256, ErrField},
	} {
		if _, err := PNG(c.payload, c.size); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
