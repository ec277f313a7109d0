import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { FileErrorCode, fileErrorFromFs, type FileError } from './file-hasher';

export interface WalkOptions {
  /** Follow symbolic links to files and directories (each directory is visited once). */
  readonly followSymlinks?: boolean;
  /** Absolute paths (files or directories) to leave out, e.g. the quarantine folder. */
  readonly exclude?: readonly string[];
}

export type WalkEntry =
  | { readonly kind: 'file'; readonly path: string; readonly size: number; readonly mtimeMs: number }
  | { readonly kind: 'skipped'; readonly path: string; readonly reason: 'symlink' | 'special' | 'excluded' | 'loop' }
  | { readonly kind: 'error'; readonly path: string; readonly error: FileError };

// Node decodes directory entries as UTF-8; a name that is not valid UTF-8 comes back with U+FFFD
// and cannot be opened under that name. Say so instead of "no longer exists".
function nameError(err: unknown, path: string): FileError {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' && path.includes('\uFFFD')) {
    return { code: FileErrorCode.WALK_FAILED, message: `${path}: file name is not valid UTF-8 and cannot be opened; not scanned` };
  }
  return fileErrorFromFs(err, path);
}

function isExcluded(path: string, exclude: readonly string[]): boolean {
  return exclude.some((e) => path === e || path.startsWith(e.endsWith(sep) ? e : e + sep));
}

/**
 * Walk files under the given roots (files may be given directly), depth first, in directory order.
 * Regular files only; symlinks are skipped unless `followSymlinks`; sockets, FIFOs and devices are
 * skipped (reading a FIFO would block). Unreadable directories come out as `error` entries and the
 * walk goes on.
 */
export async function* walk(roots: readonly string[], options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const follow = options.followSymlinks ?? false;
  const exclude = (options.exclude ?? []).map((p) => resolve(p));
  // Directory identities already entered, so followed links cannot loop.
  const seenDirs = new Set<string>();

  async function* visit(path: string, viaLink: boolean): AsyncGenerator<WalkEntry> {
    if (isExcluded(path, exclude)) {
      yield { kind: 'skipped', path, reason: 'excluded' };
      return;
    }
    let st;
    try {
      st = await lstat(path);
      if (st.isSymbolicLink()) {
        if (!follow && !viaLink) {
          yield { kind: 'skipped', path, reason: 'symlink' };
          return;
        }
        st = await stat(path);
        // Exclusions also apply to where a followed link points.
        if (isExcluded(await realpath(path), exclude)) {
          yield { kind: 'skipped', path, reason: 'excluded' };
          return;
        }
      }
    } catch (err) {
      yield { kind: 'error', path, error: nameError(err, path) };
      return;
    }
    if (st.isFile()) {
      yield { kind: 'file', path, size: st.size, mtimeMs: st.mtimeMs };
      return;
    }
    if (!st.isDirectory()) {
      yield { kind: 'skipped', path, reason: 'special' };
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    if (seenDirs.has(id)) {
      yield { kind: 'skipped', path, reason: 'loop' };
      return;
    }
    seenDirs.add(id);
    let dir;
    try {
      dir = await opendir(path);
    } catch (err) {
      const e = fileErrorFromFs(err, path);
      yield { kind: 'error', path, error: { code: e.code === FileErrorCode.READ_FAILED ? FileErrorCode.WALK_FAILED : e.code, message: e.message } };
      return;
    }
    const names: Array<{ name: string; link: boolean; dir: boolean; file: boolean }> = [];
    try {
      for await (const d of dir) {
        names.push({ name: d.name, link: d.isSymbolicLink(), dir: d.isDirectory(), file: d.isFile() });
      }
    } catch (err) {
      yield { kind: 'error', path, error: { code: FileErrorCode.WALK_FAILED, message: `${path}: ${(err as Error).message}` } };
    }
    // Sorted, so a resumed scan and its report come out in a stable order.
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const n of names) {
      const child = join(path, n.name);
      if (n.link && !follow) {
        yield { kind: 'skipped', path: child, reason: 'symlink' };
      } else if (n.file && !isExcluded(child, exclude)) {
        // The common case: no extra lstat round trip for the type, only stat for size and time.
        try {
          const s = await lstat(child);
          if (s.isFile()) yield { kind: 'file', path: child, size: s.size, mtimeMs: s.mtimeMs };
          else yield* visit(child, false);
        } catch (err) {
          yield { kind: 'error', path: child, error: nameError(err, child) };
        }
      } else {
        yield* visit(child, n.link);
      }
    }
  }

  for (const root of roots) {
    const abs = resolve(root);
    // A root given on the command line is followed even if it is a link: the operator named it.
    yield* visit(abs, true);
  }
}
