// Package destfs writes into a local destination directory: the one layer under both a fetch
// (pkg/receiver) and a local sync (pkg/localsync).
//
// Everything goes through an [os.Root] opened on the destination, or through a directory
// opened under it, with entries named by their base name: a symbolic link already in the
// destination, or one swapped in meanwhile, cannot make a write land outside it.
//
// It provides:
//
//   - temporary names: a hidden ".NAME.lcsync-XXXXXXXX" beside the file, cut to fit a
//     255-byte file name (NAME_MAX), created with O_EXCL and retried on a clash
//     ([TempName], [CreateTemp], [OpenTemp]); [IsTemp] recognises them; a temporary file
//     is locked (flock) while its maker lives ([LockTemp]), so [SweepTemps] can tell the
//     stale ones a killed fetch or sync left from those in use, and remove them;
//   - copies of byte ranges between two open files inside the kernel with
//     copy_file_range(2), falling back to reads and writes where the kernel cannot
//     ([Copier]);
//   - attributes: [Attrs] is the one place where a file's mode and modification time are
//     applied ([Dir.Commit], [Dir.Apply]), the place to add ownership later;
//   - commit: chmod, fsync, times, close and rename of a temporary file over its name, the
//     temporary file removed on any failure ([Dir.Commit]);
//   - directory fsync once per directory renamed into, with its errors reported ([Dirs]);
//   - the entries of a directory to delete for --delete ([Extras]).
//
// The package never logs; errors are *fs.PathError values naming the operation and the entry
// (relative to its directory), for the caller to put in its own terms.
package destfs
