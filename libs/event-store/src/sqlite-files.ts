import type { BigIntStats } from 'node:fs';

/** A SQLite database's file, and those SQLite keeps beside it under its name: its write-ahead log and that log's index, or its rollback journal. */
export const SQLITE_SIDE_FILES = ['', '-wal', '-shm', '-journal'] as const;
/** The files SQLite keeps beside a database's (SQLITE_SIDE_FILES but its own): their suffixes. */
export const SQLITE_SIDE_SUFFIXES = SQLITE_SIDE_FILES.slice(1);

/** Whether two stats (`bigint: true`: 64-bit inode numbers lose their low bits in a double, two files seeming one: XFS, btrfs, NFS) are of one file: its device and inode. */
export function sameInode(a: BigIntStats | undefined, b: BigIntStats | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}
