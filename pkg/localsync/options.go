package localsync

// Options control a [Sync].
type Options struct {
	// BlockSize is the merkle block size; 0 means merkle.DefaultBlockSize.
	BlockSize int
	// Perms applies the source permission bits (-p). A setuid bit is kept only with Owner,
	// a file's setgid bit only with Group (destfs.SafeMode).
	Perms bool
	// Owner and Group give destination entries the source's owner and group (-o, -g); they
	// take effect only when the process runs as root and are skipped silently otherwise.
	Owner, Group bool
	// Times applies the source modification times to files, directories
	// and symbolic links (-t).
	Times bool
	// Delete removes destination entries absent from the source directory
	// (--delete).
	Delete bool
	// Inplace writes changed blocks straight into the existing destination
	// file instead of assembling a temporary file (--inplace).
	Inplace bool
	// DryRun computes and reports what would be done and touches nothing
	// (-n).
	DryRun bool
	// Checksum turns off the quick check: every regular file whose
	// destination exists is read on both sides and compared, even when
	// the destination has the source's size and modification time
	// (--checksum). See the package documentation.
	Checksum bool
	// Workers is the number of goroutines reading and comparing a file's
	// two sides; 0 means GOMAXPROCS.
	Workers int
	// OnFile, if set, is called once per entry processed, from the
	// goroutine that called Sync. A directory is reported before its
	// contents; should applying its attributes afterwards fail, it is
	// reported a second time, with ActionError.
	OnFile func(FileResult)

	// afterWrite, if set, is called after each chunk written to a
	// destination file (tests use it to cancel mid-copy).
	afterWrite func()
	// openedForRead, if set, is called with the path of every source or
	// destination file opened to read its contents (tests use it to prove
	// that the quick check reads nothing).
	openedForRead func(path string)
}

// Actions reported in [FileResult.Action].
const (
	ActionCreate    = "create"    // a file that did not exist was written
	ActionUpdate    = "update"    // changed blocks of an existing file were written
	ActionUnchanged = "unchanged" // file or link already identical (attributes may have been applied)
	ActionMkdir     = "mkdir"     // a directory was created
	ActionDir       = "dir"       // an existing directory was synced
	ActionSymlink   = "symlink"   // a symbolic link was created or changed
	ActionDelete    = "delete"    // an entry absent from the source was removed
	ActionSkip      = "skip"      // a device, FIFO or socket was skipped
	ActionError     = "error"     // the entry failed; see FileResult.Err
)

// FileResult reports one processed entry.
type FileResult struct {
	// Path is the entry's path relative to the destination directory
	// that receives the copy, "/"-separated ("." for that directory).
	Path string
	// Action says what was (or, in a dry run, would be) done: one of the
	// Action constants.
	Action string
	// Blocks is the number of blocks of a regular file; ChangedBlocks how
	// many of them differ from the destination and are copied.
	Blocks, ChangedBlocks int
	// BytesCopied is the number of bytes copied from the source, the sum
	// of the changed blocks' lengths.
	BytesCopied int64
	// QuickChecked is set when a regular file was found unchanged by the
	// quick check (same size and modification time), without being
	// opened or read.
	QuickChecked bool
	// Err is the failure when Action is ActionError.
	Err error
}

// Stats sums up a [Sync]. In a dry run the byte counters other than
// ComparedBytes stay zero.
type Stats struct {
	Files    int // regular files processed
	Dirs     int // directories processed
	Symlinks int // symbolic links processed
	Skipped  int // devices, FIFOs and sockets skipped
	Deleted  int // destination entries removed by Delete
	Errors   int // entries that failed

	Created   int // files created
	Updated   int // files updated
	Unchanged int // files already identical
	// QuickChecked counts the Unchanged files found identical by the quick
	// check (size and modification time), without being read.
	QuickChecked int

	Blocks        int64 // blocks of all regular files
	ChangedBlocks int64 // blocks copied from the source

	ComparedBytes int64 // bytes of sources and destinations read to compare them
	BytesRead     int64 // source bytes copied into destinations (changed blocks, new files)
	BytesWritten  int64 // bytes written into the destination with write calls
	BytesCloned   int64 // bytes copied inside the destination by copy_file_range
}
