// Command ferretdb-wrapper runs the embeddable FerretDB 1.24 (SQLite backend) for the local
// HashCheck stack.
//
// FerretDB's own CLI (cmd/ferretdb) panics at start when built with a plain `go install`,
// because it expects the generated build/version/version.txt; the embeddable package does
// not, so we wrap it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only when -pprof-addr is given
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"

	"github.com/hashcheck/stack/ferretdb-wrapper/sqliteopts"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	listen := flag.String("listen-addr", envOr("FERRETDB_LISTEN_ADDR", "127.0.0.1:27017"), "TCP listen address")
	dir := flag.String("sqlite-dir", envOr("FERRETDB_SQLITE_DIR", ""), "directory holding the SQLite databases (required)")
	logFile := flag.String("log-file", envOr("FERRETDB_LOG_FILE", ""), "log file (default: stderr)")
	logLevel := flag.String("log-level", envOr("FERRETDB_LOG_LEVEL", "info"), "debug, info, warn or error")
	pragmas := flag.String("sqlite-pragmas", envOr("FERRETDB_SQLITE_PRAGMAS", "synchronous(normal)"), "comma-separated SQLite pragmas added to FerretDB's defaults, e.g. synchronous(full); empty for none")
	pprofAddr := flag.String("pprof-addr", envOr("FERRETDB_PPROF_ADDR", ""), "serve Go's /debug/pprof on this address (default: off)")
	flag.Parse()

	if *pprofAddr != "" {
		// To see where the database spends its CPU under a benchmark (docs/operations.md).
		go func() {
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				fmt.Fprintln(os.Stderr, "ferretdb-wrapper: pprof:", err)
			}
		}()
	}

	if err := run(*listen, *dir, *logFile, *logLevel, *pragmas); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-wrapper:", err)
		os.Exit(1)
	}
}

func run(listen, dir, logFile, logLevel, pragmas string) error {
	if dir == "" {
		return errors.New("-sqlite-dir (or FERRETDB_SQLITE_DIR) is required")
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(absDir, 0o755); err != nil {
		return err
	}

	var out io.Writer = os.Stderr
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}

	var level slog.Level
	if err = level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}
	logger := slog.New(sqliteopts.LazyAttrs(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   logger,
		Handler:  "sqlite",
		// The SQLite URI must name a directory and end with a slash.
		SQLiteURL: "file:" + absDir + "/" + sqliteopts.PragmaQuery(pragmas),
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// The launcher waits for this line (and then for a successful ping).
	logger.Info("hashcheck ferretdb-wrapper listening", "uri", f.MongoDBURI(), "sqlite_dir", absDir)

	if err = f.Run(ctx); err != nil {
		return err
	}
	logger.Info("hashcheck ferretdb-wrapper stopped")
	return nil
}
