package membudget

import (
	"io"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func restore(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
}

func TestApplySetsTheDefaultUnlessGOMEMLIMITIsSet(t *testing.T) {
	restore(t)
	debug.SetMemoryLimit(math.MaxInt64)
	b := Apply(func(string) string { return "" }, quiet)
	if got := debug.SetMemoryLimit(-1); got != Default || b.Limit() != Default {
		t.Fatalf("limit = %d (budget %d), want %d", got, b.Limit(), Default)
	}

	debug.SetMemoryLimit(300 << 20) // as the runtime does for GOMEMLIMIT=300MiB
	b = Apply(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "300MiB"
		}
		return ""
	}, quiet)
	if got := debug.SetMemoryLimit(-1); got != 300<<20 || b.Limit() != 300<<20 {
		t.Fatalf("limit = %d (budget %d), want the operator's 300 MiB", got, b.Limit())
	}
	b.limit = 1 << 20
	keep := make([]byte, 8<<20)
	runtime.GC()
	for range Sustained + 1 {
		if b.Check() {
			t.Fatal("raised a limit the operator set")
		}
	}
	runtime.KeepAlive(keep)
}

func TestCheckRaisesOnlyWhenTheLiveHeapStaysAbove(t *testing.T) {
	restore(t)
	b := Apply(func(string) string { return "" }, quiet)
	b.limit = 1 << 20 // far below what the test process keeps alive
	keep := make([]byte, 8<<20)
	runtime.GC()
	for i := range Sustained - 1 {
		if b.Check() {
			t.Fatalf("raised after %d checks, want %d", i+1, Sustained)
		}
	}
	// A check below the headroom starts the count again.
	b.limit = 1 << 40
	if b.Check() {
		t.Fatal("raised a limit the live heap is far below")
	}
	b.limit = 1 << 20
	for i := range Sustained {
		raised := b.Check()
		if raised != (i == Sustained-1) {
			t.Fatalf("check %d raised = %v", i+1, raised)
		}
	}
	if b.Limit() < 8<<20 || debug.SetMemoryLimit(-1) != b.Limit() {
		t.Fatalf("limit = %d (runtime %d), want above the 8 MiB kept alive", b.Limit(), debug.SetMemoryLimit(-1))
	}
	runtime.KeepAlive(keep)
}
