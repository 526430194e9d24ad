package v17

// eqLen is the equaliser length in T/2 taps; the centre tap (eqLen/2)
// sits on a symbol centre, so its output lags the front end by eqLen/4
// symbols.
const eqLen = 17

// equalizer is a fractionally spaced (T/2) complex adaptive equaliser,
// adapted by normalised LMS.
type equalizer struct {
	c      [eqLen]complex128
	x      [2 * eqLen]complex128 // the inputs twice over, newest at x[pos]
	pos    int
	sum    float64 // energy of the inputs under the taps, kept as they move
	pushes int
}

// unit makes the equaliser a pure delay.
func (e *equalizer) unit() {
	e.c = [eqLen]complex128{}
	e.c[eqLen/2] = 1
}

func (e *equalizer) clearInputs() {
	e.x = [2 * eqLen]complex128{}
	e.sum = 0
}

func (e *equalizer) push(y complex128) {
	if e.pos--; e.pos < 0 {
		e.pos = eqLen - 1
	}
	old := e.x[e.pos] // the input leaving the taps
	e.x[e.pos] = y
	e.x[e.pos+eqLen] = y
	e.sum += real(y)*real(y) + imag(y)*imag(y) - real(old)*real(old) - imag(old)*imag(old)
	if e.pushes++; e.pushes&1023 == 0 {
		e.sum = e.sumAll() // no drift from the running sum
	}
}

func (e *equalizer) output() complex128 {
	// Four sums, not two: shorter chains of dependent additions.
	var r0, i0, r1, i1 float64
	w := (*[eqLen]complex128)(e.x[e.pos : e.pos+eqLen])
	for i := 0; i < eqLen-1; i += 2 {
		c, x, d, y := e.c[i], w[i], e.c[i+1], w[i+1]
		r0 += real(c)*real(x) - imag(c)*imag(x)
		i0 += real(c)*imag(x) + imag(c)*real(x)
		r1 += real(d)*real(y) - imag(d)*imag(y)
		i1 += real(d)*imag(y) + imag(d)*real(y)
	}
	c, x := e.c[eqLen-1], w[eqLen-1]
	r0 += real(c)*real(x) - imag(c)*imag(x)
	i0 += real(c)*imag(x) + imag(c)*real(x)
	return complex(r0+r1, i0+i1)
}

// update moves the taps by mu times the error err (want minus got, at the
// equaliser's output) against the input energy.
func (e *equalizer) update(err complex128, mu, energy float64) {
	w := (*[eqLen]complex128)(e.x[e.pos : e.pos+eqLen])
	g := err * complex(mu/energy, 0)
	gr, gi := real(g), imag(g)
	for i, x := range w {
		// g times conj(x)
		e.c[i] += complex(gr*real(x)+gi*imag(x), gi*real(x)-gr*imag(x))
	}
}

// scale multiplies every tap by g (a gain and a rotation).
func (e *equalizer) scale(g complex128) {
	for i := range e.c {
		e.c[i] *= g
	}
}

// energy is the sum of the squared inputs under the taps.
func (e *equalizer) energy() float64 { return e.sum }

func (e *equalizer) sumAll() float64 {
	var sum float64
	for _, x := range e.x[e.pos : e.pos+eqLen] {
		sum += real(x)*real(x) + imag(x)*imag(x)
	}
	return sum
}
