package tensorio

import (
	"archive/zip"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tide-compiler/tide/internal/spell"
	"github.com/tide-compiler/tide/te"
)

// WeightSpec is one array a network needs: its name, element type and shape.
type WeightSpec struct {
	Name  string
	DType te.DType
	Shape []int
	// Layer describes the array's use for messages, e.g.
	// "bitserial_conv2d b1_a (kernel)".
	Layer string
	// Range, when set, bounds the values (inclusive): RandomWeights draws
	// from it and LoadWeights and SaveWeights refuse values outside it.
	Range *te.ValueRange
}

// what names the array and its use in messages.
func (s WeightSpec) what() string {
	if s.Layer == "" {
		return s.Name
	}
	return s.Name + " for " + s.Layer
}

// WeightsError lists every problem found with a weights file (or with the
// buffers to save in one), one per line, each prefixed by the file's path.
type WeightsError struct {
	Path     string
	Problems []string
	// Note follows the problems, e.g. the names of the network's arrays
	// when the file has arrays the network does not use.
	Note string
}

func (e *WeightsError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		lines = append(lines, e.Path+": "+p)
	}
	if e.Note != "" {
		lines = append(lines, e.Path+": "+e.Note)
	}
	return strings.Join(lines, "\n")
}

func (e *WeightsError) add(format string, args ...any) {
	e.Problems = append(e.Problems, fmt.Sprintf(format, args...))
}

func (e *WeightsError) err() error {
	if len(e.Problems) == 0 && e.Note == "" {
		return nil
	}
	return e
}

// LoadWeights reads path, an .npz file (as numpy's np.savez or
// np.savez_compressed write it: a zip archive of NAME.npy arrays), and
// returns one buffer per spec, in spec order. Each array must have its
// spec's dtype and shape; big-endian and Fortran-ordered arrays are
// converted. The file may hold no other arrays. A *WeightsError lists every
// problem at once.
func LoadWeights(path string, specs []WeightSpec) ([]*te.Buffer, error) {
	if e := checkSpecs(path, specs); e != nil {
		return nil, e
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not an .npz file", path)
	}
	return readWeights(f, st.Size(), path, specs)
}

// checkSpecs checks the network's side: names usable as .npz members,
// listed once, and dtypes and shapes a buffer can have.
func checkSpecs(path string, specs []WeightSpec) error {
	e := &WeightsError{Path: path}
	seen := map[string]bool{}
	for i, s := range specs {
		switch {
		case s.Name == "":
			e.add("weight %d has no name", i)
		case strings.ContainsAny(s.Name, "/\\\x00"):
			e.add("weight name %q has a '/', '\\' or NUL", s.Name)
		case seen[s.Name]:
			e.add("the network lists %s twice", s.Name)
		}
		seen[s.Name] = true
		if !slices.Contains(te.ScalarTypes, s.DType) {
			e.add("%s: cannot store %v in an .npz file", s.what(), s.DType)
		}
		n := int64(1)
		for _, d := range s.Shape {
			if d < 0 || d > te.MaxElements || (d > 0 && n > te.MaxElements/int64(d)) {
				e.add("%s: bad shape %s", s.what(), pyShape(s.Shape))
				break
			}
			n *= int64(d)
		}
	}
	return e.err()
}

// readWeights is LoadWeights on an open file of the given size.
func readWeights(r io.ReaderAt, size int64, path string, specs []WeightSpec) ([]*te.Buffer, error) {
	e := &WeightsError{Path: path}
	head := make([]byte, len(npyMagic))
	n, _ := r.ReadAt(head, 0)
	switch {
	case size == 0:
		e.add("the file is empty, not an .npz file")
		return nil, e
	case string(head[:n]) == npyMagic:
		e.add("the file is a single .npy array, not an .npz archive of named arrays: save the weights with np.savez(path, NAME=array, ...)")
		return nil, e
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		e.add("not an .npz file (np.savez writes a zip archive of NAME.npy arrays): %v", err)
		return nil, e
	}
	members := map[string]*zip.File{}
	var names []string // in the archive's order
	for _, f := range zr.File {
		name, ok := strings.CutSuffix(f.Name, ".npy")
		switch {
		case !ok || name == "":
			e.add("member %q is not a .npy array (np.savez stores each array as NAME.npy)", f.Name)
		case members[name] != nil:
			e.add("the archive holds two arrays named %s", name)
		default:
			members[name] = f
			names = append(names, name)
		}
	}

	// Arrays the network does not use, and the missing ones they may be
	// misspellings of.
	used := map[string]bool{}
	var missing []string
	for _, s := range specs {
		used[s.Name] = true
		if members[s.Name] == nil {
			missing = append(missing, s.Name)
		}
	}
	var extras []string
	typoOf := map[string]string{}     // extra -> missing name
	misspelled := map[string]string{} // missing name -> first extra
	for _, name := range names {
		if used[name] {
			continue
		}
		extras = append(extras, name)
		if m := closest(name, missing); m != "" {
			typoOf[name] = m
			if misspelled[m] == "" {
				misspelled[m] = name
			}
		}
	}

	bufs := make([]*te.Buffer, len(specs))
	for i, s := range specs {
		f := members[s.Name]
		if f == nil {
			msg := fmt.Sprintf("no array %s; want %v %s", s.what(), s.DType, pyShape(s.Shape))
			if x := misspelled[s.Name]; x != "" {
				msg += fmt.Sprintf(" (the file has %s: a misspelling?)", x)
			}
			e.Problems = append(e.Problems, msg)
			continue
		}
		b, probs := readMember(f, s, size)
		bufs[i] = b
		e.Problems = append(e.Problems, probs...)
	}
	positional := false
	for _, x := range extras {
		msg := fmt.Sprintf("extra array %s that the network does not use", x)
		if m := typoOf[x]; m != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", m)
		} else if !positional && positionalName.MatchString(x) {
			positional = true
			msg += " (np.savez names the arrays given without a keyword arr_0, arr_1, ...: pass each as NAME=array)"
		}
		e.Problems = append(e.Problems, msg)
	}
	if len(extras) > 0 {
		all := make([]string, len(specs))
		for i, s := range specs {
			all[i] = s.Name
		}
		e.Note = "the network's arrays are " + strings.Join(all, ", ")
		if len(specs) == 0 {
			e.Note = "the network has no arrays"
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return bufs, nil
}

var positionalName = regexp.MustCompile(`^arr_[0-9]+$`)

// readMember reads and checks one array of the archive. archiveSize bounds
// the data of a stored member.
func readMember(f *zip.File, s WeightSpec, archiveSize int64) (*te.Buffer, []string) {
	invalid := func(format string, args ...any) []string {
		return []string{fmt.Sprintf("%s is not a valid .npy array: ", f.Name) + fmt.Sprintf(format, args...)}
	}
	damaged := func(err error) []string {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return invalid("the member ends early (the archive is truncated or damaged)")
		}
		return []string{fmt.Sprintf("%s is damaged: %v", f.Name, err)}
	}
	usize := f.UncompressedSize64 // checked by the zip reader as it reads
	rc, err := f.Open()
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: cannot read it from the archive: %v", f.Name, err)}
	}
	defer rc.Close()

	if usize < 10 {
		return nil, invalid("it holds only %d bytes", usize)
	}
	var prefix [12]byte
	if _, err := io.ReadFull(rc, prefix[:8]); err != nil {
		return nil, damaged(err)
	}
	if string(prefix[:6]) != npyMagic {
		return nil, invalid(`it does not start with the .npy magic string "\x93NUMPY"`)
	}
	pl := npyPrefixLen(prefix[6])
	if pl == 0 {
		return nil, invalid("unknown .npy format version %d.%d", prefix[6], prefix[7])
	}
	if _, err := io.ReadFull(rc, prefix[8:pl]); err != nil {
		return nil, damaged(err)
	}
	// The header's length, then its shape, are checked against the
	// member's size before anything is allocated for them.
	hlen := npyHeaderLen(prefix[:pl])
	if uint64(pl)+uint64(hlen) > usize {
		return nil, invalid("its header claims %d bytes, but the member holds only %d bytes after the first %d (truncated?)", hlen, usize-uint64(pl), pl)
	}
	if hlen > maxNpyHeader {
		return nil, invalid("its header claims %d bytes (numpy writes less than %d)", hlen, maxNpyHeader)
	}
	text, err := readN(rc, hlen, false)
	if err != nil {
		return nil, damaged(err)
	}
	h, err := parseNpyHeader(string(text))
	if err != nil {
		return nil, invalid("%v", err)
	}

	var probs []string
	switch {
	case h.DType == te.Invalid:
		probs = append(probs, fmt.Sprintf("%s holds elements of numpy dtype %q, which Tide does not read; want %v: convert with .astype(%s)", s.what(), h.Descr, s.DType, numpyName(s.DType)))
	case h.DType != s.DType:
		msg := fmt.Sprintf("%s is %v, want %v: convert with .astype(%s)", s.what(), h.DType, s.DType, numpyName(s.DType))
		if h.DType.IsFloat() && !s.DType.IsFloat() {
			msg += " (np.rint first if the values are not whole: astype truncates)"
		}
		probs = append(probs, msg)
	}
	if !slices.Equal(h.Shape, s.Shape) {
		msg := fmt.Sprintf("%s has shape %s, want %s", s.what(), pyShape(h.Shape), pyShape(s.Shape))
		if n := te.NumElements(h.Shape); n == te.NumElements(s.Shape) {
			msg += fmt.Sprintf(" (the same %d elements: another layout?)", n)
		}
		probs = append(probs, msg)
	}
	var dataLen int64
	if h.DType != te.Invalid {
		dataLen = int64(te.NumElements(h.Shape)) * int64(h.DType.Bytes()) // at most 2^34
		if have := usize - uint64(pl) - uint64(hlen); have != uint64(dataLen) {
			how := "truncated"
			if have > uint64(dataLen) {
				how = "more data than its shape"
			}
			probs = append(probs, fmt.Sprintf("%s does not match its header (%s): the header says %v %s, %d bytes of data, but the member holds %d", f.Name, how, h.DType, pyShape(h.Shape), dataLen, have))
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}

	// A stored member's data lies in the archive: its size is real, and its
	// buffer can be allocated at once. A compressed member's claimed size
	// is only believed as the data arrives.
	stored := false
	if off, err := f.DataOffset(); err == nil && f.Method == zip.Store && f.CompressedSize64 == usize {
		stored = off >= 0 && uint64(off) <= uint64(archiveSize) && usize <= uint64(archiveSize)-uint64(off)
	}
	data, err := readN(rc, dataLen, stored)
	if err != nil {
		return nil, damaged(err)
	}
	// Reading to the end makes the zip reader check the checksum.
	if _, err := io.ReadFull(rc, make([]byte, 1)); err != io.EOF {
		if err == nil {
			return nil, invalid("the member holds more data than its header says")
		}
		return nil, damaged(err)
	}
	b, err := decodeNpyData(h, data)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", s.what(), err)}
	}
	if msg := outOfRange(b, s.Range); msg != "" {
		return nil, []string{fmt.Sprintf("%s: %s", s.what(), msg)}
	}
	return b, nil
}

// readN reads n bytes. Unless trusted, the buffer grows as the data arrives,
// so a member claiming more data than it holds costs no more than it holds.
func readN(r io.Reader, n int64, trusted bool) ([]byte, error) {
	c := n
	if !trusted {
		c = min(n, 1<<16)
	}
	buf := make([]byte, 0, c)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(n-int64(len(buf)), int64(len(buf)))))
		}
		m, err := r.Read(buf[len(buf):min(int64(cap(buf)), n)])
		buf = buf[:len(buf)+m]
		if err == io.EOF && int64(len(buf)) < n {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
	}
	return buf, nil
}

// outOfRange describes the elements of b outside vr (NaN is outside any
// range), or returns "".
func outOfRange(b *te.Buffer, vr *te.ValueRange) string {
	if vr == nil {
		return ""
	}
	first, count := -1, 0
	for i := 0; i < b.Len(); i++ {
		if v := b.Float(i); math.IsNaN(v) || v < vr.Lo || v > vr.Hi {
			if first < 0 {
				first = i
			}
			count++
		}
	}
	if count == 0 {
		return ""
	}
	msg := fmt.Sprintf("element %s is %s, outside the declared range %v..%v", te.IndexString(b.Shape, first), b.ElementString(first), vr.Lo, vr.Hi)
	if count > 1 {
		msg += fmt.Sprintf(" (%d elements are)", count)
	}
	return msg
}

// closest returns the name among candidates that name is likely a
// misspelling of (edit distance, ignoring case, at most a quarter of the
// name's length and at least 1), or "".
func closest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := spell.Distance(name, c)
		if d > max(1, len(c)/4) || d >= len(c) {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// SaveWeights writes bufs as an .npz file numpy reads with np.load, the
// arrays named by specs (uncompressed, as np.savez writes them). Each
// buffer must have its spec's dtype and shape, hold values of its dtype
// and respect the spec's range; a *WeightsError lists every problem.
// The file is written whole or not at all.
func SaveWeights(path string, specs []WeightSpec, bufs []*te.Buffer) (err error) {
	if e := checkSpecs(path, specs); e != nil {
		return e
	}
	e := &WeightsError{Path: path}
	if len(bufs) != len(specs) {
		e.add("%d buffers for %d weights", len(bufs), len(specs))
		return e
	}
	for i, s := range specs {
		e.Problems = append(e.Problems, checkBuffer(s, bufs[i])...)
	}
	if err := e.err(); err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	for i, s := range specs {
		data := encodeNpy(bufs[i])
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: s.Name + ".npy", Method: zip.Store,
			CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)),
			Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), // reproducible files
		})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// checkBuffer lists what keeps b from being saved as s.
func checkBuffer(s WeightSpec, b *te.Buffer) []string {
	if b == nil {
		return []string{fmt.Sprintf("no buffer for %s", s.what())}
	}
	if b.DType != s.DType || !slices.Equal(b.Shape, s.Shape) {
		return []string{fmt.Sprintf("the buffer for %s is %v %s, want %v %s", s.what(), b.DType, pyShape(b.Shape), s.DType, pyShape(s.Shape))}
	}
	n := b.Len()
	if s.DType.IsFloat() && len(b.Floats) != n || !s.DType.IsFloat() && len(b.Ints) != n {
		return []string{fmt.Sprintf("the buffer for %s holds %d values for shape %s", s.what(), max(len(b.Floats), len(b.Ints)), pyShape(s.Shape))}
	}
	first, count := -1, 0
	for i := 0; i < n; i++ {
		ok := true
		if s.DType.IsFloat() {
			v := b.Floats[i]
			ok = s.DType.Bits == 64 || math.IsNaN(v) || float64(float32(v)) == v
		} else {
			ok = s.DType.Wrap(b.Ints[i]) == b.Ints[i]
		}
		if !ok {
			if first < 0 {
				first = i
			}
			count++
		}
	}
	if count > 0 {
		var v string
		if s.DType.IsFloat() {
			v = strconv.FormatFloat(b.Floats[first], 'g', -1, 64)
		} else {
			v = strconv.FormatInt(b.Ints[first], 10)
		}
		msg := fmt.Sprintf("element %s of %s is %s, not a %v value", te.IndexString(s.Shape, first), s.what(), v, s.DType)
		if count > 1 {
			msg += fmt.Sprintf(" (%d elements are not)", count)
		}
		return []string{msg}
	}
	if msg := outOfRange(b, s.Range); msg != "" {
		return []string{fmt.Sprintf("%s: %s", s.what(), msg)}
	}
	return nil
}

// RandomWeights makes seeded random buffers for specs: values from each
// spec's Range, or te.RandomBuffer's default range. Each array draws from
// its own stream, chosen by the seed and the array's name, so an array's
// values depend only on the seed, its name, dtype, shape and range: adding
// or removing another array leaves them as they were.
func RandomWeights(specs []WeightSpec, seed uint64) []*te.Buffer {
	bufs := make([]*te.Buffer, len(specs))
	for i, s := range specs {
		h := fnv.New64a()
		h.Write([]byte(s.Name))
		bufs[i] = te.RandomBuffer(s.DType, s.Shape, s.Range, rand.New(rand.NewPCG(seed, h.Sum64())))
	}
	return bufs
}
