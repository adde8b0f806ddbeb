package endpoints

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// newGzip is the compressor of a large answer: parallelGzip when there is
// more than one core, else one compressor.
func newGzip(dst io.Writer) io.WriteCloser {
	if runtime.GOMAXPROCS(0) > 1 {
		return newParallelGzip(dst, flate.BestSpeed)
	}
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(dst)
	return pooledGzip{w}
}

// gzipWriters are reused: a compressor's state is large. The compressors
// here are klauspost/compress's, whose level 1 takes half the CPU of the
// standard library's for a smaller output (the format is the same).
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

type pooledGzip struct{ *gzip.Writer }

func (p pooledGzip) Close() error {
	err := p.Writer.Close()
	gzipWriters.Put(p.Writer)
	return err
}

// parallelGzip compresses a large answer on every core, as pigz does: the
// stream is cut into blocks of gzipBlock bytes, and each block is
// compressed by a helper goroutine with the gzipWindow bytes before it as its
// dictionary, so that the output is nearly as small as one compressor's.
// Every block but the last ends with a sync flush (byte-aligned, not
// final), so the blocks joined in order make one DEFLATE stream; the CRC-32
// of the whole is joined from the blocks' own. The answer is the same
// gzip format (RFC 1952) that any reader takes. Compression is most of a
// large list's CPU (kube-apiserver's, and kapi's before: 55% of a list of
// 2,000 ConfigMaps); one core did all of it while the others waited.
// The price is a little more CPU in all (the dictionaries, the copies):
// when every core is busy, 0-8% in most runs, once 17%
// (BenchmarkGzipList's -busy runs).
type parallelGzip struct {
	dst   io.Writer
	level int
	cur   []byte  // the block being filled
	dict  *[]byte // the window before cur, of dictBuffers; nil at first
	// queue holds the blocks in compression, oldest first; they are
	// written out in order.
	queue   []*gzipBlockJob
	started bool // the header is written
	crc     uint32
	size    uint32 // modulo 2^32, as the trailer
	err     error
}

// gzipBlock is the size of the blocks compressed apart: large enough that
// a block's dictionary costs little, small enough that a list of a few MB
// keeps every core busy.
const gzipBlock = 256 << 10

// gzipWindow is DEFLATE's window: the dictionary a block starts with.
const gzipWindow = 8 << 10

type gzipBlockJob struct {
	done chan struct{}
	in   []byte
	dict *[]byte // of dictBuffers; nil for the first block
	out  *bytes.Buffer
	crc  uint32
	err  error
}

func newParallelGzip(dst io.Writer, level int) *parallelGzip {
	return &parallelGzip{dst: dst, level: level, cur: blockBuffers.Get().([]byte)[:0]}
}

var (
	blockBuffers  = sync.Pool{New: func() any { return make([]byte, 0, gzipBlock) }}
	outputBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, gzipBlock/2)) }}
	dictBuffers   = sync.Pool{New: func() any {
		b := make([]byte, 0, gzipWindow)
		return &b
	}}
)

// flateWriters are the helpers' compressors, reset with each block's
// dictionary.
var flateWriters = sync.Pool{}

func (z *parallelGzip) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && z.err == nil {
		k := min(len(p), gzipBlock-len(z.cur))
		z.cur = append(z.cur, p[:k]...)
		p = p[k:]
		if len(z.cur) == gzipBlock {
			z.submit(false)
		}
	}
	if z.err != nil {
		return 0, z.err
	}
	return n, nil
}

// submit hands the current block to a helper; at most one block per core
// (and 8) is in compression, beyond that the oldest is waited for and
// written: the memory a large answer holds stays a few blocks.
func (z *parallelGzip) submit(last bool) {
	job := &gzipBlockJob{done: make(chan struct{}), in: z.cur, dict: z.dict, out: outputBuffers.Get().(*bytes.Buffer)}
	var dict []byte
	if job.dict != nil {
		dict = *job.dict
	}
	go job.compress(z.level, dict, last)
	z.queue = append(z.queue, job)
	if last {
		// Nothing follows: no dictionary, no block to fill.
		z.dict, z.cur = nil, nil
	} else {
		// The next block's dictionary is this one's tail (copied: this
		// block goes back to the pool when written).
		tail := z.cur[max(0, len(z.cur)-gzipWindow):]
		z.dict = dictBuffers.Get().(*[]byte)
		*z.dict = append((*z.dict)[:0], tail...)
		z.cur = blockBuffers.Get().([]byte)[:0]
	}
	for len(z.queue) > min(runtime.GOMAXPROCS(0), 8) {
		z.writeOldest()
	}
}

func (job *gzipBlockJob) compress(level int, dict []byte, last bool) {
	defer close(job.done)
	job.crc = crc32.ChecksumIEEE(job.in)
	fw, _ := flateWriters.Get().(*flate.Writer)
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(nil, level); err != nil {
			job.err = err
			return
		}
	}
	fw.ResetDict(job.out, dict)
	if _, job.err = fw.Write(job.in); job.err == nil {
		if last {
			job.err = fw.Close()
		} else {
			job.err = fw.Flush()
		}
	}
	fw.ResetDict(nil, nil)
	flateWriters.Put(fw)
}

// writeOldest waits for the oldest block and writes it out.
func (z *parallelGzip) writeOldest() {
	job := z.queue[0]
	z.queue[0] = nil
	z.queue = z.queue[1:]
	<-job.done
	if z.err == nil {
		z.err = job.err
	}
	if z.err == nil && !z.started {
		z.started = true
		// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS=unknown, as Go's gzip.
		xfl := byte(0)
		if z.level == flate.BestSpeed {
			xfl = 4
		}
		_, z.err = z.dst.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255})
	}
	if z.err == nil {
		_, z.err = z.dst.Write(job.out.Bytes())
	}
	if len(job.in) == gzipBlock {
		z.crc = gf2Times(blockShift[:], z.crc) ^ job.crc
	} else {
		z.crc = crc32Combine(z.crc, job.crc, int64(len(job.in)))
	}
	z.size += uint32(len(job.in))
	blockBuffers.Put(job.in[:0])
	if job.dict != nil {
		dictBuffers.Put(job.dict)
	}
	job.out.Reset()
	outputBuffers.Put(job.out)
}

// Close compresses what is left as the final block, writes every block
// in order, and the trailer (CRC-32, size).
func (z *parallelGzip) Close() error {
	if z.err != nil {
		for len(z.queue) > 0 { // let the helpers finish
			z.writeOldest()
		}
		if z.cur != nil {
			blockBuffers.Put(z.cur[:0])
			z.cur = nil
		}
		if z.dict != nil {
			dictBuffers.Put(z.dict)
			z.dict = nil
		}
		return z.err
	}
	z.submit(true)
	for len(z.queue) > 0 {
		z.writeOldest()
	}
	if z.err != nil {
		return z.err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], z.crc)
	binary.LittleEndian.PutUint32(trailer[4:], z.size)
	_, z.err = z.dst.Write(trailer[:])
	return z.err
}

// blockShift is the operator that crc32Combine applies for a whole
// block: crc1 shifted over gzipBlock zero bytes.
var blockShift = func() (op [32]uint32) {
	for i := range op {
		op[i] = crc32Combine(1<<i, 0, gzipBlock)
	}
	return op
}()

// crc32Combine is the CRC-32 (IEEE) of a+b from crc1 of a, crc2 of b and
// b's length: zlib's crc32_combine (multiplication by x^(8 len2) in
// GF(2), by repeated squaring of the one-zero-bit operator).
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	if len2 <= 0 {
		return crc1
	}
	var even, odd [32]uint32
	odd[0] = crc32.IEEE // the operator for one zero bit
	row := uint32(1)
	for n := 1; n < 32; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(even[:], odd[:]) // two zero bits
	gf2Square(odd[:], even[:]) // four
	// Each squaring doubles the zeros: the first makes the operator for
	// one zero byte, the next for two, and so on by len2's bits.
	op, spare := odd[:], even[:]
	for ; len2 != 0; len2 >>= 1 {
		gf2Square(spare, op)
		op, spare = spare, op
		if len2&1 != 0 {
			crc1 = gf2Times(op, crc1)
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat []uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint32) {
	for n := range 32 {
		square[n] = gf2Times(mat, mat[n])
	}
}
