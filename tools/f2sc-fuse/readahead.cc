#include "tools/f2sc-fuse/readahead.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string_view>

namespace f2sc::fuse {
namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (octal).
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Result<std::string> mount_device_of(const std::string& mountinfo, const std::string& mountpoint) {
  // Fields: mount ID, parent ID, MAJ:MIN, root, mount point, ... (proc(5)).
  std::istringstream in(mountinfo);
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    if (unescape(point) == mountpoint) found = dev;  // the last one is on top
  }
  if (found.empty()) return fail(Errc::kNotFound, ENOENT, "no mount at " + mountpoint);
  return found;
}

Status set_mount_read_ahead(const std::string& mountpoint, uint32_t kb) {
  std::ifstream f("/proc/self/mountinfo");
  if (!f) return fail(Errc::kIoError, EIO, "cannot read /proc/self/mountinfo");
  std::stringstream text;
  text << f.rdbuf();
  auto dev = mount_device_of(text.str(), mountpoint);
  if (!dev) return fail(dev.error());
  const std::string path = "/sys/class/bdi/" + *dev + "/read_ahead_kb";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail(sys_error(errno, "opening " + path));
  const std::string value = std::to_string(kb) + "\n";
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return fail(sys_error(n < 0 ? err : EIO, "writing " + path));
  return {};
}

}  // namespace f2sc::fuse
