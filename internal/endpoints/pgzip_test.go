package endpoints

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// listLike is n bytes that compress as a list of objects does: repeated
// structure with varying values.
func listLike(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"metadata":{"name":"cm-%d","namespace":"bench","uid":"%08x-%04x","resourceVersion":"%d"},"data":{"d":"%x"}},`,
			i, r.Uint32(), r.Uint32()&0xffff, 1000+i, r.Uint64())
	}
	return b.Bytes()[:n]
}

// TestParallelGzip: the stream of any size, written in any pieces, is
// one gzip stream that the standard library reads back whole, with its
// CRC-32 and size checked, and no larger than one compressor's by more
// than a little (each block starts with the one before as dictionary).
func TestParallelGzip(t *testing.T) {
	for _, n := range []int{0, 1, 100 << 10, gzipBlock, gzipBlock + 1, 5*gzipBlock + 123, 21 * gzipBlock} {
		for _, piece := range []int{1 << 30, 4096, 1000} {
			if n > gzipBlock+1 && piece < 4096 {
				continue
			}
			t.Run(fmt.Sprintf("%d/%d", n, piece), func(t *testing.T) {
				in := listLike(n)
				var out bytes.Buffer
				z := newParallelGzip(&out, 1)
				for p := in; len(p) > 0; {
					k := min(piece, len(p))
					if m, err := z.Write(p[:k]); err != nil || m != k {
						t.Fatalf("Write = %d, %v", m, err)
					}
					p = p[k:]
				}
				if err := z.Close(); err != nil {
					t.Fatal(err)
				}
				compressed := out.Len()
				zr, err := gzip.NewReader(&out)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("reading back: %v", err)
				}
				if !bytes.Equal(got, in) {
					t.Fatalf("read back %d bytes, not the %d written", len(got), len(in))
				}
				var one bytes.Buffer
				kw, _ := kgzip.NewWriterLevel(&one, 1)
				kw.Write(in)
				kw.Close()
				if n > 0 && float64(compressed) > 1.05*float64(one.Len()) {
					t.Errorf("%d bytes compressed to %d, one compressor makes %d", n, compressed, one.Len())
				}
			})
		}
	}
}

// TestCRC32Combine: the CRC-32 of a+b from those of a and b.
func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 1000, gzipBlock, 3*gzipBlock + 5} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		for _, cut := range []int{0, n / 3, n} {
			a, b := data[:cut], data[cut:]
			if got, want := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b))), crc32.ChecksumIEEE(data); got != want {
				t.Errorf("n=%d cut=%d: %08x, want %08x", n, cut, got, want)
			}
		}
	}
}

// BenchmarkGzipList compresses a list-sized answer (2.6 MB) as one
// compressor did and as the parallel one does: the time is the answer's
// wait for its compression. The -busy runs compress one answer per core
// at once: the time per answer is then the CPU each costs.
func BenchmarkGzipList(b *testing.B) {
	in := listLike(2600 << 10)
	// Each compressor is made per goroutine: a func compressing in once.
	compressors := map[string]func() func(){
		"one": func() func() {
			w, _ := kgzip.NewWriterLevel(io.Discard, 1)
			return func() {
				w.Reset(io.Discard)
				w.Write(in)
				w.Close()
			}
		},
		"parallel": func() func() {
			return func() {
				z := newParallelGzip(io.Discard, 1)
				z.Write(in)
				z.Close()
			}
		},
	}
	for _, name := range []string{"one", "parallel"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			compress := compressors[name]()
			for b.Loop() {
				compress()
			}
		})
	}
	for _, name := range []string{"one", "parallel"} {
		b.Run(name+"-busy", func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.RunParallel(func(pb *testing.PB) {
				compress := compressors[name]()
				for pb.Next() {
					compress()
				}
			})
		})
	}
}
