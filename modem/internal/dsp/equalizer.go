package dsp

// Equalizer is a fractionally spaced (T/2) adaptive transversal equaliser
// with complex taps, adapted by normalised LMS. Feed it every T/2 point
// with Push; at each symbol centre read Output and then, with the error
// against the wanted point (training symbol or decision), call Update.
type Equalizer struct {
	c      []complex128
	x      []complex128 // written twice so the window is contiguous
	n, pos int
	mu     float64
	pw     float64 // running power of the window, for normalisation
}

// NewEqualizer makes an equaliser of taps T/2 taps, with step size mu
// (0.01 to 0.1 for NLMS). With taps = 4k+1 and Output read right after an
// on-time point was pushed, the centre tap is a symbol centre k symbols
// back: the equaliser delays the symbols by k.
func NewEqualizer(taps int, mu float64) *Equalizer {
	e := &Equalizer{c: make([]complex128, taps), x: make([]complex128, 2*taps), n: taps, mu: mu}
	e.Reset()
	return e
}

// Reset zeroes the history and sets the taps to a pass-through of the
// centre tap.
func (e *Equalizer) Reset() {
	clear(e.c)
	clear(e.x)
	e.c[e.n/2] = 1
	e.pos = 0
	e.pw = 0
}

// SetStep changes the adaptation step size.
func (e *Equalizer) SetStep(mu float64) { e.mu = mu }

// Scale multiplies every tap by g (for example to fold an AGC's gain in).
func (e *Equalizer) Scale(g complex128) {
	for i := range e.c {
		e.c[i] *= g
	}
}

// Push adds a T/2 point.
func (e *Equalizer) Push(z complex128) {
	old := e.x[e.pos]
	e.pw += real(z)*real(z) + imag(z)*imag(z) - real(old)*real(old) - imag(old)*imag(old)
	e.x[e.pos] = z
	e.x[e.pos+e.n] = z
	if e.pos++; e.pos == e.n {
		e.pos = 0
	}
}

// window is the last n points, oldest first.
func (e *Equalizer) window() []complex128 { return e.x[e.pos : e.pos+e.n] }

// Output is the equalised point for the newest window.
func (e *Equalizer) Output() complex128 {
	var r0, r1, i0, i1 float64
	c := e.c
	w := e.x[e.pos : e.pos+len(c)]
	w = w[:len(c)] // (tells the compiler: no bounds checks below)
	for i, c := range c {
		x := w[i]
		r0 += real(c) * real(x)
		r1 -= imag(c) * imag(x)
		i0 += real(c) * imag(x)
		i1 += imag(c) * real(x)
	}
	return complex(r0+r1, i0+i1)
}

// Update adapts the taps by err = wanted - Output() for the current window.
func (e *Equalizer) Update(err complex128) {
	if e.pw < 1e-9 {
		e.pw = 0
		return
	}
	k := e.mu / e.pw
	er, ei := real(err)*k, imag(err)*k
	c := e.c
	w := e.window()
	w = w[:len(c)] // (tells the compiler: no bounds checks below)
	for i := range c {
		x := w[i]
		// c += k * err * conj(x)
		c[i] += complex(er*real(x)+ei*imag(x), ei*real(x)-er*imag(x))
	}
}

// Taps returns the current taps (read only).
func (e *Equalizer) Taps() []complex128 { return e.c }
