package emv

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	zxing "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/skip2/go-qrcode"

	"github.com/hulian/hulian/internal/fault"
)

// ImageMaxPx is the largest image PNG draws, in pixels a side: 8.7 cm
// printed at 300 dpi, more than a counter sticker needs. Drawing and
// reading back cost about 20 ms at this size, 6 ms at 512 px.
const ImageMaxPx = 1024

// renderTriesMax bounds the symbol versions PNG tries (see PNG).
const renderTriesMax = 4

// ErrImageSize means PNG was asked for an image size it does not draw.
var ErrImageSize = fault.New(fault.Invalid, "", "QR image size out of range")

// PNG draws payload as a QR code of error correction level M (15% of the
// symbol may be lost, as EMV recommends) with the standard quiet zone of
// four modules, black on white, and returns it as a PNG file.
//
// size is the largest side in pixels, from 1 to ImageMaxPx: each module
// is a square of a whole number of pixels, so that readers see sharp
// edges, and the image is the largest such square not above size, or one
// pixel a module when size is smaller than the symbol.
//
// PNG reads the image back with ZXing, the engine of most phone
// scanners, before returning it. About one symbol in a hundred holds a
// pattern that ZXing's detector takes for a finder pattern and cannot be
// read at some scales; PNG then draws the payload in the next larger
// symbol version, whose layout differs, up to renderTriesMax versions.
// So every image returned has been read back to exactly the payload.
//
// The payload is written as given, in byte mode (UTF-8 when not ASCII);
// PNG does not check that it is a valid EMV code, Encode does that.
func PNG(payload string, size int) ([]byte, error) {
	if size < 1 || size > ImageMaxPx {
		return nil, fmt.Errorf("QR image of %d px: not within 1–%d: %w", size, ImageMaxPx, ErrImageSize)
	}
	if n := utf8.RuneCountInString(payload); n == 0 || n > PayloadMaxChars {
		return nil, fmt.Errorf("QR image: payload of %d characters, not 1 to %d: %w", n, PayloadMaxChars, ErrField)
	}
	q, err := qrcode.New(payload, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("QR image: %w", err)
	}
	for try := 1; ; try++ {
		modules := len(q.Bitmap()) // the symbol and its quiet zone
		img := q.Image(-max(1, size/modules))
		if readBack(img) == payload {
			var b bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
				return nil, fmt.Errorf("QR image: %w", err)
			}
			return b.Bytes(), nil
		}
		if try == renderTriesMax || q.VersionNumber == 40 {
			return nil, fmt.Errorf("QR image: no symbol from version %d to %d reads back", q.VersionNumber-try+1, q.VersionNumber)
		}
		if q, err = qrcode.NewWithForcedVersion(payload, q.VersionNumber+1, qrcode.Medium); err != nil {
			return nil, fmt.Errorf("QR image: %w", err)
		}
	}
}

// readBack returns the text ZXing reads from img, or "".
func readBack(img image.Image) string {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return ""
	}
	res, err := zxing.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return ""
	}
	return res.GetText()
}
