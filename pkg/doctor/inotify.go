package doctor

import (
	"fmt"
)

// inotifyFloor is the watch limit below which a watching server of an unknown share is
// warned about: distributions ship 8192 on small machines, which a source tree exceeds.
const inotifyFloor = 65536

// Inotify checks fs.inotify.max_user_watches for a server that watches its share (one watch
// per directory, for live sync): against the share's directory count when share is given,
// else against a floor. It also needs one inotify instance of max_user_instances.
func Inotify(sys System, share string) Result {
	watches, err := readInt(sys, "/proc/sys/fs/inotify/max_user_watches")
	if err != nil {
		return skip(CheckInotify, "cannot read fs.inotify.max_user_watches: "+err.Error(), "")
	}
	instances, err := readInt(sys, "/proc/sys/fs/inotify/max_user_instances")
	if err == nil && instances < 1 {
		return warn(CheckInotify, "fs.inotify.max_user_instances is 0: a watching server cannot start", "sysctl -w fs.inotify.max_user_instances=128")
	}
	fix := func(n int64) string {
		return fmt.Sprintf("sysctl -w fs.inotify.max_user_watches=%d (persist it in /etc/sysctl.d/)", n)
	}
	if share == "" {
		if watches < inotifyFloor {
			return warn(CheckInotify, fmt.Sprintf("fs.inotify.max_user_watches is %d: a watching server can follow at most that many directories, shared with the user's other programs", watches), fix(524288))
		}
		return pass(CheckInotify, fmt.Sprintf("fs.inotify.max_user_watches %d (one per directory of a watched share)", watches))
	}
	dirs, err := sys.CountDirs(share, int(watches)+1)
	if err != nil {
		return warn(CheckInotify, "cannot count the directories of "+share+": "+err.Error(), "")
	}
	switch {
	case int64(dirs) > watches:
		return warn(CheckInotify, fmt.Sprintf("%s has more than %d directories, the fs.inotify.max_user_watches limit: a watching server cannot follow them all", share, watches), fix(max(2*int64(dirs), 524288)))
	case int64(dirs)*2 > watches:
		return warn(CheckInotify, fmt.Sprintf("%s has %d directories, more than half the fs.inotify.max_user_watches limit of %d shared with the user's other programs", share, dirs, watches), fix(max(4*int64(dirs), 524288)))
	}
	return pass(CheckInotify, fmt.Sprintf("%s has %d directories, within fs.inotify.max_user_watches %d", share, dirs, watches))
}
