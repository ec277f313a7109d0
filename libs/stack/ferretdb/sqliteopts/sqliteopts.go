// Package sqliteopts holds what the wrapper sets around FerretDB's SQLite backend; it depends on the
// standard library only, so its tests build in seconds (FerretDB itself takes minutes).
package sqliteopts

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
)

// PragmaQuery turns "a(1),b(2)" into "?_pragma=a(1)&_pragma=b(2)"; FerretDB adds its own defaults
// (busy_timeout, journal_mode(wal), auto_vacuum) for those not given.
//
// The default, synchronous(normal), is SQLite's recommended setting for WAL mode: a commit no longer
// waits for fsync, and an application crash (FerretDB killed) still loses nothing; only a power loss
// or OS crash can roll back the last commits, as with MongoDB's default write concern (its journal
// is synced every 100 ms). FerretDB's default, FULL, fsyncs every document an update touches,
// because it commits each one on its own (docs/local-stack.md).
func PragmaQuery(pragmas string) string {
	q := url.Values{}
	for _, p := range strings.Split(pragmas, ",") {
		if p = strings.TrimSpace(p); p != "" {
			q.Add("_pragma", p)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// LazyAttrs wraps a handler so that With() attributes are formatted only when a record is written.
func LazyAttrs(inner slog.Handler) slog.Handler {
	return &lazyAttrs{inner: inner}
}

// lazyAttrs defers a logger's With() attributes until a record is actually written.
//
// FerretDB's SQL layer (internal/util/fsql) calls l.With(slog.Any("args", args)).DebugContext(...)
// around every statement, and slog's TextHandler formats With() attributes eagerly, enabled or
// not: every document written was quoted into a throw-away string. Under the pipeline benchmark
// that was 7 % of FerretDB's CPU (go tool pprof, -pprof-addr), plus the garbage it left.
type lazyAttrs struct {
	inner slog.Handler
	attrs []slog.Attr
}

func (h *lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	return h.resolved().Handle(ctx, r)
}

func (h *lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	all := make([]slog.Attr, 0, len(h.attrs)+len(attrs))
	all = append(append(all, h.attrs...), attrs...)
	return &lazyAttrs{inner: h.inner, attrs: all}
}

// WithGroup applies the pending attributes first: they belong outside the group.
func (h *lazyAttrs) WithGroup(name string) slog.Handler {
	return &lazyAttrs{inner: h.resolved().WithGroup(name)}
}

func (h *lazyAttrs) resolved() slog.Handler {
	if len(h.attrs) == 0 {
		return h.inner
	}
	return h.inner.WithAttrs(h.attrs)
}
