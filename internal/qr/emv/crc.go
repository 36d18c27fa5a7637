package emv

// crcTable holds CRC-16/CCITT-FALSE of every byte value, so that the
// payment path reads one table entry per byte instead of eight shifts.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 returns the CRC-16/CCITT-FALSE of data (polynomial 0x1021,
// initial value 0xFFFF, no reflection, no final XOR), the checksum EMV
// QR codes carry in their data object 63. CRC16([]byte("123456789")) is
// 0x29B1.
func CRC16(data []byte) uint16 { return crc16(data) }

func crc16[T string | []byte](data T) uint16 {
	c := uint16(0xFFFF)
	for i := 0; i < len(data); i++ {
		c = c<<8 ^ crcTable[byte(c>>8)^data[i]]
	}
	return c
}
