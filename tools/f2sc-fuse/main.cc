// f2sc-fuse DEVICE MOUNTPOINT [-f] [-d] [-s] [-o OPTS]: mounts an F2FS image through FUSE
// (libfuse3 low-level API). options.h describes the command line.
//
// Order of events: parse; unless -f, fork (the parent waits on a pipe and exits with the
// child's verdict, so a failed mount is a failed command); open the device; mount the
// filesystem; create the FUSE session and mount it; serve requests until fusermount3 -u,
// umount, SIGINT, SIGTERM or SIGHUP; then unmount the filesystem, which writes the final
// checkpoint. The device and the filesystem's threads are created after the fork.
#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "blockdev/uri.h"
#include "fs/file_system.h"
#include "tools/f2sc-fuse/context.h"
#include "tools/f2sc-fuse/options.h"
#include "tools/f2sc-fuse/readahead.h"

#ifndef F2SC_VERSION
#define F2SC_VERSION "unknown"
#endif

namespace f2sc::fuse {
namespace {

// Tells the waiting parent (if any) how the mount went; the parent exits with `status`.
void report_ready(int& fd, unsigned char status) {
  if (fd < 0) return;
  ssize_t r;
  do {
    r = ::write(fd, &status, 1);
  } while (r < 0 && errno == EINTR);
  ::close(fd);
  fd = -1;
}

// The parent side of the fork: returns the exit status (the child's report, or 1 when the
// child died without one). The child returns -1 with `ready_fd` set.
int daemonize(int& ready_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "f2sc-fuse: pipe: %s\n", std::strerror(errno));
    return 1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "f2sc-fuse: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid > 0) {
    ::close(p[1]);
    unsigned char status = 1;
    ssize_t r;
    do {
      r = ::read(p[0], &status, 1);
    } while (r < 0 && errno == EINTR);
    return r == 1 ? status : 1;
  }
  ::close(p[0]);
  ready_fd = p[1];
  ::setsid();
  return -1;
}

// realpath(3) of an existing path.
Result<std::string> absolute_path(const std::string& path) {
  char* r = ::realpath(path.c_str(), nullptr);
  if (!r) return fail(sys_error(errno, "resolving the path"));
  std::string out(r);
  std::free(r);
  return out;
}

// Detaches from the terminal once the mount is up.
void detach_stdio() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  ::dup2(null, STDIN_FILENO);
  ::dup2(null, STDOUT_FILENO);
  ::dup2(null, STDERR_FILENO);
  if (null > STDERR_FILENO) ::close(null);
}

int serve(const Options& o, const std::string& prog, int& ready_fd) {
  Settings settings;
  settings.attr_timeout = o.attr_timeout;
  settings.entry_timeout = o.entry_timeout;
  settings.writeback_cache = o.writeback_cache && !o.read_only;
  settings.xattrs = o.xattrs;
  settings.log_to_stderr = o.foreground;

  auto dev = blockdev::open_device(o.device_uri);
  if (!dev) {
    std::fprintf(stderr, "f2sc-fuse: %s: %s\n", o.device_uri.c_str(), dev.error().message.c_str());
    return 1;
  }
  fs::MountOptions mo;
  mo.read_only = o.read_only;
  mo.copy_offload = o.copy_offload;
  mo.checkpoint_interval_sec = o.checkpoint_interval;
  mo.background_gc = o.background_gc && !o.read_only;
  mo.gc_policy = o.gc_policy;
  mo.gc.sleep = o.gc_sleep;
  auto mounted = fs::FileSystem::mount(**dev, mo);
  if (!mounted) {
    std::fprintf(stderr, "f2sc-fuse: mounting %s: %s\n", o.device.c_str(),
                 mounted.error().message.c_str());
    return 1;
  }
  fs::FileSystem& fsys = **mounted;
  Context ctx(fsys, settings);
  ctx.dev = dev->get();
  ctx.mount_options = mo;
  ctx.gc_policy = o.gc_policy;

  std::vector<std::string> args = fuse_args(o, prog);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(args.size()), argv.data());

  // Until the first request is served nothing has changed, so the failures below drop the
  // FileSystem without unmount(): no checkpoint, the image stays exactly as it was.
  fuse_session* se = fuse_session_new(&fargs, &operations(), sizeof(fuse_lowlevel_ops), &ctx);
  fuse_opt_free_args(&fargs);
  if (!se) return 1;  // libfuse printed why (an unknown -o option, most often)
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    return 1;
  }
  if (fuse_session_mount(se, o.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return 1;
  }
  // Read-ahead as large as the largest request (max_write), so a sequential read is not cut
  // into 128 KiB requests: set on the mount now, before INIT, whose reply says the same
  // (op_init). Only root may set it; without an explicit option a refusal is not worth a
  // message.
  if (const uint32_t kb = o.read_ahead_kb.value_or(1024); kb != 0) {
    if (auto s = set_mount_read_ahead(o.mountpoint, kb); s)
      ctx.settings.read_ahead_kb = kb;  // read by op_init, on INIT
    else if (o.read_ahead_kb)
      log_line(settings, "read_ahead_kb not set: " + s.error().message);
  }
  if (!o.foreground) {
    openlog("f2sc-fuse", LOG_PID, LOG_DAEMON);
    report_ready(ready_fd, 0);
    detach_stdio();
  }
  if (::chdir("/") != 0) {
    // Harmless: only keeps the old working directory busy.
  }

  int rc;
  if (o.single_thread) {
    rc = fuse_session_loop(se);
  } else {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, o.max_threads);
    rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  if (rc < 0) log_line(settings, std::string("request loop failed: ") + std::strerror(-rc));
  // rc > 0 is the signal that ended the loop: a clean shutdown.
  if (fsys.is_shut_down()) log_line(settings, "the filesystem was shut down: no final checkpoint");
  if (auto s = fsys.unmount(); !s) {
    log_line(settings, "final checkpoint failed: " + s.error().message);
    return 1;
  }
  return rc < 0 ? 1 : 0;
}

int run(int argc, char** argv) {
  const std::string prog = argc > 0 ? argv[0] : "f2sc-fuse";
  auto o = parse_options(argc, argv);
  if (!o) {
    std::fprintf(stderr, "f2sc-fuse: %s\nTry '%s --help'.\n", o.error().message.c_str(),
                 prog.c_str());
    return 2;
  }
  if (o->show_help) {
    std::fputs(usage(prog).c_str(), stdout);
    return 0;
  }
  if (o->show_version) {
    std::printf("f2sc-fuse %s (libfuse %s)\n", F2SC_VERSION, fuse_pkgversion());
    return 0;
  }
  // Absolute paths: the daemon leaves its working directory for "/", and libfuse unmounts
  // by the path it was given; /proc/mounts then also names the image unambiguously.
  if (auto m = absolute_path(o->mountpoint); !m) {
    std::fprintf(stderr, "f2sc-fuse: mountpoint %s: %s\n", o->mountpoint.c_str(),
                 m.error().message.c_str());
    return 1;
  } else {
    o->mountpoint = *m;
  }
  if (auto d = absolute_path(o->device); d) o->device = *d;  // a URI stays as it is
  int ready_fd = -1;
  if (!o->foreground) {
    if (int status = daemonize(ready_fd); status >= 0) return status;
  }
  const int status = serve(*o, prog, ready_fd);
  report_ready(ready_fd, static_cast<unsigned char>(status));
  return status;
}

}  // namespace
}  // namespace f2sc::fuse

int main(int argc, char** argv) {
  try {
    return f2sc::fuse::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "f2sc-fuse: %s\n", e.what());
    return 1;
  }
}
