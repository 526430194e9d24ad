package v29

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/modem/internal/pumptest"
	"github.com/faxagent/faxagent/modem/pump"
)

// modulate sends bits with a fresh transmitter at rate.
func modulate(t testing.TB, rate int, bits []int, lead int) []int16 {
	t.Helper()
	tx, err := NewTransmitter(rate, pumptest.Source(bits))
	if err != nil {
		t.Fatal(err)
	}
	return pumptest.Transmit(t, tx, lead, 10*pump.SampleRate+len(bits)*pump.SampleRate/rate)
}

func TestOursToOurs(t *testing.T) {
	for _, rate := range []int{7200, 9600} {
		for _, tc := range []struct {
			name string
			gain float64
			ppm  float64
		}{
			{"clean", 1, 0},
			{"+6dB +100ppm", math.Pow(10, 0.3), 100},
			{"-10dB -100ppm", math.Pow(10, -0.5), -100},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := pumptest.RandomBits(20000, uint64(rate))
				line := pumptest.Impair(modulate(t, rate, want, 400), tc.gain, tc.ppm)
				s := &pumptest.Recorder{}
				rx, err := NewReceiver(rate, s)
				if err != nil {
					t.Fatal(err)
				}
				pumptest.Feed(rx, line)
				pumptest.CheckBits(t, s, want)
			})
		}
	}
}

// TestTrainingGenerator: the segment-3 generator 1 + x^-6 + x^-7 from
// 0x2A repeats every 127 bits (a maximal-length sequence) and starts with
// the C the receiver's hop detection relies on.
func TestTrainingGenerator(t *testing.T) {
	g := trainGen{reg: trainInit}
	var seq []int
	for range 254 {
		seq = append(seq, g.next())
	}
	if seq[0] != 0 {
		t.Fatal("segment 3 does not start with C")
	}
	for i := range 127 {
		if seq[i] != seq[i+127] {
			t.Fatalf("not periodic in 127 at %d", i)
		}
	}
	for p := 1; p < 127; p++ {
		same := true
		for i := range 127 {
			if seq[i] != seq[i+p] {
				same = false
				break
			}
		}
		if same {
			t.Fatalf("period %d, want 127", p)
		}
	}
}

// TestSlicerIsNearestPoint: the octant-limited slicer picks the same point
// as a search of the whole constellation, for points anywhere near it.
func TestSlicerIsNearestPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, rate := range []int{7200, 9600} {
		r, _ := NewReceiver(rate, pumptest.Null{})
		for range 200000 {
			y := complex(rng.Float64()*14-7, rng.Float64()*14-7)
			got, _ := r.slice(y)
			best, bd := -1, math.Inf(1)
			for i, c := range r.points {
				if rate == 7200 && c.q1 == 1 {
					continue
				}
				if d := cmplx.Abs(y - c.z); d < bd {
					best, bd = i, d
				}
			}
			if got != best && math.Abs(cmplx.Abs(y-r.points[got].z)-bd) > 1e-9 {
				t.Fatalf("%d: slice(%v) = %v, nearest %v", rate, y, r.points[got].z, r.points[best].z)
			}
		}
	}
}

// TestSetLevel: the signal's power is the level asked for.
func TestSetLevel(t *testing.T) {
	for _, level := range []float64{-14, -10, -20} {
		tx, err := NewTransmitter(9600, pumptest.Source(pumptest.RandomBits(20000, 1)))
		if err != nil {
			t.Fatal(err)
		}
		tx.SetLevel(level)
		s := pumptest.Transmit(t, tx, 0, 20*pump.SampleRate)
		var p float64
		mid := s[len(s)/3 : 2*len(s)/3]
		for _, v := range mid {
			p += float64(v) * float64(v)
		}
		got := 10*math.Log10(p/float64(len(mid))/(32768.0*32768/2)) + 3.14
		if math.Abs(got-level) > 0.2 {
			t.Errorf("level %v: measured %.2f dBm0", level, got)
		}
	}
}

func TestTrainingPointsInConstellation(t *testing.T) {
	for _, rate := range []int{7200, 9600} {
		for _, z := range []complex128{trainA(rate), trainB(rate), trainC(rate), trainD(rate)} {
			if i := indexOf(z); i < 0 || constellation()[i] != z {
				t.Errorf("%d: training point %v is not in the constellation", rate, z)
			}
		}
	}
}
