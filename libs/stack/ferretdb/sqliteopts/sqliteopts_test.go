package sqliteopts

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestPragmaQuery(t *testing.T) {
	cases := map[string]string{
		"":                                      "",
		" , ":                                   "",
		"synchronous(normal)":                   "?_pragma=synchronous%28normal%29",
		"synchronous(full), cache_size(-20000)": "?_pragma=synchronous%28full%29&_pragma=cache_size%28-20000%29",
	}
	for in, want := range cases {
		if got := PragmaQuery(in); got != want {
			t.Errorf("PragmaQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// expensive counts how often slog formats it.
type expensive struct{ n *int }

func (e expensive) String() string { *e.n++; return "formatted" }

func TestLazyAttrsFormatsNothingWhenDisabled(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(&lazyAttrs{inner: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})})
	n := 0
	for i := 0; i < 100; i++ {
		l.With(slog.Any("args", expensive{&n})).DebugContext(context.Background(), ">>> UPDATE")
	}
	if n != 0 || buf.Len() != 0 {
		t.Fatalf("disabled debug records formatted their attributes %d times and wrote %q", n, buf.String())
	}
	l.With(slog.Any("args", expensive{&n})).Info("<<< UPDATE")
	if n != 1 || !strings.Contains(buf.String(), "args=formatted") {
		t.Fatalf("an enabled record must still carry its attributes: %d, %q", n, buf.String())
	}
}

// The same records, through the lazy handler and straight through the TextHandler, read the same.
func TestLazyAttrsWritesWhatTextHandlerWrites(t *testing.T) {
	log := func(l *slog.Logger) {
		l.With("conn", "c1").With("db", "d").WithGroup("q").With("table", "t").Info("msg", "rows", 3)
		l.With("a", 1).Warn("plain")
	}
	var lazy, plain bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	log(slog.New(&lazyAttrs{inner: slog.NewTextHandler(&lazy, opts)}))
	log(slog.New(slog.NewTextHandler(&plain, opts)))
	if lazy.String() != plain.String() {
		t.Fatalf("lazy:\n%s\nplain:\n%s", lazy.String(), plain.String())
	}
}
