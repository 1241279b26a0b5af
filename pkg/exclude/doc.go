// Package exclude decides which paths of a share are left out, with rsync's include and
// exclude rules (rsync(1), FILTER RULES and INCLUDE/EXCLUDE PATTERN RULES), so that
// `lcsync --exclude PAT`, `--include PAT` and `--exclude-from FILE` mean what they mean to
// rsync users:
//
//   - rules are tried in the order given and the first that matches decides; a path no rule
//     matches is included;
//   - `*` matches any run of characters but `/`, `**` any run including `/`, `?` one character
//     but `/`, and `[...]` one character of a class (ranges, `!` or `^` to negate, and the
//     POSIX `[:alpha:]` names); a backslash quotes the next character;
//   - a leading `/` anchors a pattern at the share root; a pattern with no `/` (a trailing one
//     aside) and no `**` matches the last component of a path at any depth; one with an inner
//     `/` matches the last components of a path; one with `**` is tried at every level;
//   - a trailing `/` matches directories only, and `dir/***` matches dir and everything in it;
//   - an excluded directory excludes everything below it, whatever later rules say.
//
// lcsync's own temporary files (`.NAME.lcsync-XXXXXXXX`, beside the file being written) are
// always excluded, with or without rules: see [IsTemp].
//
// Paths are relative to the share root, with `/` separators and no leading `/`: for a share
// served from /srv/share, the file /srv/share/a/b.txt is "a/b.txt".
package exclude
