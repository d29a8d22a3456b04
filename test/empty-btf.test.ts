import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_BTF, emptyBtfPath } from '../tracing/bpftrace/empty-btf.js';

describe('the empty BTF blob bpftrace ≥ 0.20 is pointed at', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'rh-btf-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is written once into the cache dir: a BTF header (magic 0xeB9F) with no types', () => {
    const dir = freshDir();
    const path = emptyBtfPath(dir)!;
    expect(path).toBe(join(dir, 'bpftrace-empty.btf'));
    const bytes = readFileSync(path);
    expect(bytes.readUInt16LE(0)).toBe(0xeb9f);
    expect(bytes.readUInt32LE(12)).toBe(0); // type_len
    expect(bytes.equals(EMPTY_BTF)).toBe(true);
    expect(emptyBtfPath(dir)).toBe(path);
  });

  it('replaces a symlink or a file with other content without following or trusting it', () => {
    const dir = freshDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'not yours');
    symlinkSync(victim, join(dir, 'bpftrace-empty.btf'));
    const path = emptyBtfPath(dir)!;
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('not yours');
    writeFileSync(path, 'tampered');
    expect(readFileSync(emptyBtfPath(dir)!).equals(EMPTY_BTF)).toBe(true);
  });

  it('is undefined where it cannot be written (bpftrace then reads the kernel BTF)', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'file'), '');
    expect(emptyBtfPath(join(dir, 'file', 'below-a-file'))).toBeUndefined();
  });
});
