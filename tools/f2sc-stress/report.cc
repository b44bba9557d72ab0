#include "tools/f2sc-stress/report.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>

namespace f2sc::stress {

namespace {

using nlohmann::json;
using Opt = std::optional<double>;

constexpr double kMiB = 1 << 20;

json opt(const Opt& v) {
  return v ? json(*v) : json(nullptr);
}
json opt_u(const Opt& v) {
  return v ? json(static_cast<uint64_t>(std::llround(*v))) : json(nullptr);
}
Opt u64(std::optional<uint64_t> v) {
  return v ? Opt(static_cast<double>(*v)) : std::nullopt;
}

std::string cell(const Opt& v, int precision) {
  if (!v) return "n/a";
  if (std::isinf(*v)) return "inf";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", precision, *v);
  return buf;
}

// A latency figure, or nothing when no write was timed.
Opt lat(const RunResult& r, double v) {
  return r.latency.count ? Opt(v) : Opt();
}

std::string status_of(const RunResult& r) {
  if (r.verify.errors) return "DATA MISMATCH";
  if (!r.stop_reason.empty()) return "stopped early";
  return "ok";
}

}  // namespace

Figures figures(const RunResult& r) {
  Figures f;
  if (const auto& g = r.run.gc) {
    f.gc_victims = static_cast<double>(g->victims);
    f.gc_blocks_moved = static_cast<double>(g->blocks_moved());
    f.gc_data_moved = static_cast<double>(g->data_blocks_moved);
    f.gc_node_moved = static_cast<double>(g->node_blocks_moved);
    f.gc_copy_commands = static_cast<double>(g->copy_commands);
    f.gc_ranges_mean = g->mean_ranges_per_command();
    f.gc_ranges_max = static_cast<double>(g->max_ranges_per_command);
    f.gc_offloaded = static_cast<double>(g->blocks_offloaded);
    f.gc_emulated = static_cast<double>(g->blocks_emulated);
    f.gc_dropped = static_cast<double>(g->dropped_copies);
    f.gc_copy_host_bytes = static_cast<double>(g->copy_host_bytes);
    f.gc_seconds = static_cast<double>(g->time_ns) / 1e9;
    if (*f.gc_seconds > 0)
      f.gc_mib_per_s = *f.gc_blocks_moved * r.block_size / kMiB / *f.gc_seconds;
  }
  if (const auto& d = r.run.device) {
    f.host_read = static_cast<double>(d->bytes_read);
    f.host_write = static_cast<double>(d->bytes_written);
    f.host_desc = static_cast<double>(d->copy_descriptor_bytes);
  }
  return f;
}

std::string format_table(const Options& o, const std::vector<RunResult>& runs) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  const RunResult& first = runs.front();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "f2sc-stress: %s, %u files, %.1f MiB of file data; util %.2f asked, %.3f of "
                "%.1f MiB user capacity measured;\n  live fraction of the %.1f MiB main area "
                "u = %.3f; seed %" PRIu64 ", %u thread%s",
                o.workload.text.c_str(), first.files, static_cast<double>(first.live_bytes) / kMiB,
                o.util, first.util_measured, static_cast<double>(first.capacity_bytes) / kMiB,
                static_cast<double>(first.main_bytes) / kMiB, first.live_fraction, o.seed,
                o.threads, o.threads == 1 ? "" : "s");
  line(buf);
  line("device: " + first.device + "; GC policy " +
       (!o.mount_dir.empty()      ? std::string("as the mount runs it")
        : first.gc_policy_applied ? o.gc_policy
                                  : o.gc_policy + " (not applied: no GC on this mount)"));
  if (!first.run.gc) line("GC statistics: n/a (FileSystem does not expose GC statistics yet)");
  const bool two = runs.size() == 2;
  std::snprintf(buf, sizeof buf, "%-32s %14s", "", runs[0].mode.c_str());
  std::string head = buf;
  if (two) {
    std::snprintf(buf, sizeof buf, " %14s %10s", runs[1].mode.c_str(), "ratio");
    head += buf;
  }
  line("");
  line(head);
  auto row = [&](const char* label, const std::function<Opt(const RunResult&)>& get, int precision,
                 bool ratio = true) {
    std::vector<Opt> v;
    for (const auto& r : runs) v.push_back(get(r));
    std::snprintf(buf, sizeof buf, "%-32s %14s", label, cell(v[0], precision).c_str());
    std::string s = buf;
    if (two) {
      Opt q;
      if (ratio && v[0] && v[1] && *v[1] != 0) q = *v[0] / *v[1];
      std::snprintf(buf, sizeof buf, " %14s %10s", cell(v[1], precision).c_str(),
                    ratio ? cell(q, 2).c_str() : "");
      s += buf;
    }
    line(s);
  };
  auto text_row = [&](const char* label, const std::function<std::string(const RunResult&)>& get) {
    std::snprintf(buf, sizeof buf, "%-32s %14s", label, get(runs[0]).c_str());
    std::string s = buf;
    if (two) {
      std::snprintf(buf, sizeof buf, " %14s", get(runs[1]).c_str());
      s += buf;
    }
    line(s);
  };
  auto F = [](auto fn) { return [fn](const RunResult& r) { return fn(figures(r)); }; };
  text_row("copy offload active", [](const RunResult& r) {
    return !r.offload_active ? "n/a" : *r.offload_active ? "yes" : "no";
  });
  row(
      "fill seconds", [](const RunResult& r) { return Opt(r.fill_seconds); }, 1);
  row(
      "overwrite ops", [](const RunResult& r) { return Opt(static_cast<double>(r.ops)); }, 0);
  row(
      "overwrite seconds", [](const RunResult& r) { return Opt(r.seconds); }, 1);
  row(
      "user MiB written", [](const RunResult& r) { return Opt(r.user_bytes_written / kMiB); }, 1);
  row(
      "device MiB written",
      [](const RunResult& r) {
        return r.device_bytes_written ? Opt(*r.device_bytes_written / kMiB) : std::nullopt;
      },
      1);
  row(
      "WAF (device / user writes)", [](const RunResult& r) { return r.waf; }, 2);
  row(
      "WAF, second half of the run", [](const RunResult& r) { return r.waf_second_half; }, 2);
  row(
      "WAF greedy model at u",
      [](const RunResult& r) {
        return std::isnan(r.waf_greedy_model) ? Opt() : Opt(r.waf_greedy_model);
      },
      2);
  row(
      "data WAF, second half (user+GC data)",
      [](const RunResult& r) { return r.data_waf_second_half; }, 2);
  row(
      "u of data segments in use", [](const RunResult& r) { return r.data_u_second_half; }, 3);
  row(
      "WAF greedy model at that u", [](const RunResult& r) { return r.data_waf_greedy_model; }, 2);
  row("GC victims", F([](const Figures& f) { return f.gc_victims; }), 0);
  row("GC blocks moved", F([](const Figures& f) { return f.gc_blocks_moved; }), 0);
  row("GC copy commands", F([](const Figures& f) { return f.gc_copy_commands; }), 0);
  row("GC ranges/command mean", F([](const Figures& f) { return f.gc_ranges_mean; }), 1);
  row("GC ranges/command max", F([](const Figures& f) { return f.gc_ranges_max; }), 0);
  row("GC blocks offloaded", F([](const Figures& f) { return f.gc_offloaded; }), 0);
  row("GC blocks emulated", F([](const Figures& f) { return f.gc_emulated; }), 0);
  row("GC seconds", F([](const Figures& f) { return f.gc_seconds; }), 2);
  row("GC MiB/s", F([](const Figures& f) { return f.gc_mib_per_s; }), 1);
  row("host MiB read",
      F([](const Figures& f) { return f.host_read ? Opt(*f.host_read / kMiB) : Opt(); }), 1);
  row("host MiB written",
      F([](const Figures& f) { return f.host_write ? Opt(*f.host_write / kMiB) : Opt(); }), 1);
  row("host KiB copy descriptors",
      F([](const Figures& f) { return f.host_desc ? Opt(*f.host_desc / 1024) : Opt(); }), 1);
  row(
      "device copy commands",
      [](const RunResult& r) {
        return r.run.device ? Opt(static_cast<double>(r.run.device->copy_commands)) : Opt();
      },
      0);
  row(
      "checkpoints",
      [](const RunResult& r) {
        return r.run.fs ? Opt(static_cast<double>(r.run.fs->checkpoints)) : Opt();
      },
      0);
  row(
      "write latency p50 us", [](const RunResult& r) { return lat(r, r.latency.p50_us); }, 1);
  row(
      "write latency p99 us", [](const RunResult& r) { return lat(r, r.latency.p99_us); }, 1);
  row(
      "write latency p99.9 us", [](const RunResult& r) { return lat(r, r.latency.p999_us); }, 1);
  row(
      "verified files", [](const RunResult& r) { return Opt(static_cast<double>(r.verify.files)); },
      0, false);
  row(
      "verified MiB (final pass)", [](const RunResult& r) { return Opt(r.verify.bytes / kMiB); }, 1,
      false);
  row(
      "blocks checked during run",
      [](const RunResult& r) { return Opt(static_cast<double>(r.verify.reads_during_run)); }, 0,
      false);
  row(
      "verified MiB after remount",
      [](const RunResult& r) {
        return r.after_remount ? Opt(r.after_remount->bytes / kMiB) : Opt();
      },
      1, false);
  row(
      "verify errors", [](const RunResult& r) { return Opt(static_cast<double>(r.verify.errors)); },
      0, false);
  text_row("status", status_of);
  for (const auto& r : runs) {
    if (!r.stop_reason.empty()) line("[" + r.mode + "] stopped early: " + r.stop_reason);
    for (const auto& m : r.verify.mismatches) line("[" + r.mode + "] MISMATCH " + describe(m));
    if (r.verify.errors > r.verify.mismatches.size())
      line("[" + r.mode + "] ... " + std::to_string(r.verify.errors - r.verify.mismatches.size()) +
           " more bad blocks");
  }
  return out;
}

namespace {

std::string hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

json run_json(const RunResult& r) {
  const Figures f = figures(r);
  json j;
  j["mode"] = r.mode;
  j["device"] = r.device;
  j["offload_active"] = r.offload_active ? json(*r.offload_active) : json(nullptr);
  j["completed"] = r.stop_reason.empty();
  j["stopped_early"] = r.stop_reason.empty() ? json(nullptr) : json(r.stop_reason);
  j["files"] = r.files;
  j["previous_files_removed"] = r.previous_files_removed;
  j["live_bytes"] = r.live_bytes;
  j["main_bytes"] = r.main_bytes;
  j["capacity_bytes"] = r.capacity_bytes;
  j["util"] = r.util_measured;
  j["live_fraction"] = r.live_fraction;
  j["fill"] = {{"seconds", r.fill_seconds},
               {"user_bytes_written", r.live_bytes},
               {"device_bytes_written", opt_u(u64(device_bytes_written(r.fill, r.block_size)))}};
  j["ops"] = r.ops;
  j["seconds"] = r.seconds;
  j["user_bytes_written"] = r.user_bytes_written;
  j["user_bytes_read"] = r.user_bytes_read;
  j["device_bytes_written"] = opt_u(u64(r.device_bytes_written));
  j["waf"] = opt(r.waf);
  j["waf_second_half"] = opt(r.waf_second_half);
  j["data_waf_second_half"] = opt(r.data_waf_second_half);
  j["data_u_second_half"] = opt(r.data_u_second_half);
  j["data_waf_greedy_model"] = opt(r.data_waf_greedy_model);
  j["waf_greedy_model"] =
      std::isfinite(r.waf_greedy_model) ? json(r.waf_greedy_model) : json(nullptr);
  j["gc"] = {{"available", r.run.gc.has_value()},
             {"victims", opt_u(f.gc_victims)},
             {"blocks_moved", opt_u(f.gc_blocks_moved)},
             {"data_blocks_moved", opt_u(f.gc_data_moved)},
             {"node_blocks_moved", opt_u(f.gc_node_moved)},
             {"copy_commands", opt_u(f.gc_copy_commands)},
             {"ranges_per_command_mean", opt(f.gc_ranges_mean)},
             {"ranges_per_command_max", opt_u(f.gc_ranges_max)},
             {"offloaded_blocks", opt_u(f.gc_offloaded)},
             {"emulated_blocks", opt_u(f.gc_emulated)},
             {"dropped_copies", opt_u(f.gc_dropped)},
             {"copy_host_bytes", opt_u(f.gc_copy_host_bytes)},
             {"seconds", opt(f.gc_seconds)},
             {"mib_per_s", opt(f.gc_mib_per_s)}};
  if (const auto& g = r.run.gc) {
    j["gc"]["faults"] = {{"copy_commands_failed", g->copy_command_faults},
                         {"size_limit_or_invalid", g->faults_limits},
                         {"lba_out_of_range", g->faults_out_of_range},
                         {"media", g->faults_media},
                         {"partial", g->faults_partial},
                         {"offload_suspensions", g->offload_suspensions},
                         {"requests_failed", g->copy_faults},
                         {"blocks_retried", g->blocks_retried},
                         {"unreadable_blocks", g->unreadable_blocks},
                         {"unwritable_blocks", g->unwritable_blocks},
                         {"bad_sections", g->bad_sections},
                         {"collect_errors", g->collect_errors}};
  } else {
    j["gc"]["faults"] = nullptr;
  }
  Opt total;
  if (f.host_read) total = *f.host_read + *f.host_write + *f.host_desc;
  j["host_bytes"] = {{"read", opt_u(f.host_read)},
                     {"write", opt_u(f.host_write)},
                     {"copy_descriptors", opt_u(f.host_desc)},
                     {"total", opt_u(total)}};
  if (const auto& d = r.run.device) {
    j["device_counters"] = {{"read_commands", d->read_commands},
                            {"write_commands", d->write_commands},
                            {"flush_commands", d->flush_commands},
                            {"copy_commands", d->copy_commands},
                            {"copy_ranges", d->copy_ranges},
                            {"blocks_copied_in_device", d->blocks_copied_in_device}};
  } else {
    j["device_counters"] = nullptr;
  }
  if (const auto& s = r.run.fs) {
    j["fs"] = {{"checkpoints", s->checkpoints},
               {"data_blocks_written", s->data_blocks_written},
               {"node_blocks_written", s->node_blocks_written}};
  } else {
    j["fs"] = nullptr;
  }
  j["latency_us"] = {{"count", r.latency.count},
                     {"mean", opt(lat(r, r.latency.mean_us))},
                     {"p50", opt(lat(r, r.latency.p50_us))},
                     {"p99", opt(lat(r, r.latency.p99_us))},
                     {"p999", opt(lat(r, r.latency.p999_us))},
                     {"max", opt(lat(r, r.latency.max_us))}};
  json mism = json::array();
  for (const auto& m : r.verify.mismatches)
    mism.push_back({{"file", m.file},
                    {"offset", m.offset},
                    {"expected", hex(m.expected)},
                    {"found", hex(m.found)},
                    {"what", m.what}});
  json remount = nullptr;
  if (const auto& a = r.after_remount)
    remount = {
        {"files", a->files}, {"bytes", a->bytes}, {"errors", a->errors}, {"seconds", a->seconds}};
  j["verify"] = {{"after_remount", remount},
                 {"files", r.verify.files},
                 {"bytes", r.verify.bytes},
                 {"errors", r.verify.errors},
                 {"reads_during_run", r.verify.reads_during_run},
                 {"seconds", r.verify_seconds},
                 {"mismatches", mism}};
  json series = json::array();
  for (const auto& s : r.samples)
    series.push_back({{"t", s.t},
                      {"ops", s.ops},
                      {"user_bytes", s.user_bytes},
                      {"device_bytes", opt_u(u64(s.device_bytes))},
                      {"waf", opt(s.waf)},
                      {"free_bytes", s.free_bytes},
                      {"gc_blocks_moved", opt_u(u64(s.gc_blocks_moved))}});
  j["series"] = series;
  return j;
}

}  // namespace

json to_json(const Options& o, const std::vector<RunResult>& runs) {
  json j;
  j["tool"] = "f2sc-stress";
  j["version"] = 1;
  j["config"] = {
      {"device", o.mount_dir.empty() ? json(runs.front().device) : json(nullptr)},
      {"size_bytes", o.device.empty() || o.size_given ? json(o.size_bytes) : json(nullptr)},
      {"util", o.util},
      {"workload", o.workload.text},
      {"file_size", {{"min", o.file_min}, {"max", o.file_max}}},
      {"ops", o.ops ? json(o.ops) : json(nullptr)},
      {"seconds", o.seconds > 0 ? json(o.seconds) : json(nullptr)},
      {"overwrite", o.ops || o.seconds > 0 ? json(nullptr) : json(o.overwrite)},
      {"threads", o.threads},
      {"copy_offload", std::string(offload_mode_name(o.offload))},
      {"gc_policy", o.gc_policy},
      {"gc_policy_applied", runs.front().gc_policy_applied},
      {"seed", o.seed},
      {"read_ratio", o.read_ratio},
      {"mount", o.mount_dir.empty() ? json(nullptr) : json(o.mount_dir)}};
  if (runs.size() == 2) {
    j["offload"] = run_json(runs[0]);
    j["emulation"] = run_json(runs[1]);
    auto ratio = [](const json& a, const json& b) -> json {
      if (!a.is_number() || !b.is_number() || b.get<double>() == 0) return nullptr;
      return a.get<double>() / b.get<double>();
    };
    const json& a = j["offload"];
    const json& b = j["emulation"];
    j["ratios"] = {
        {"waf", ratio(a["waf"], b["waf"])},
        {"device_bytes_written", ratio(a["device_bytes_written"], b["device_bytes_written"])},
        {"host_bytes_total", ratio(a["host_bytes"]["total"], b["host_bytes"]["total"])},
        {"gc_seconds", ratio(a["gc"]["seconds"], b["gc"]["seconds"])},
        {"gc_mib_per_s", ratio(a["gc"]["mib_per_s"], b["gc"]["mib_per_s"])},
        {"latency_p99", ratio(a["latency_us"]["p99"], b["latency_us"]["p99"])},
        {"seconds", ratio(a["seconds"], b["seconds"])}};
  } else {
    const json one = run_json(runs.front());
    for (auto& [k, v] : one.items()) j[k] = v;
  }
  return j;
}

Status write_csv(const std::string& path, const std::vector<RunResult>& runs) {
  std::ofstream out(path);
  if (!out) return fail(sys_error(errno, "writing " + path));
  out << "mode,t_s,ops,user_bytes,device_bytes,waf,free_bytes,gc_blocks_moved\n";
  for (const auto& r : runs) {
    for (const auto& s : r.samples) {
      out << r.mode << ',' << s.t << ',' << s.ops << ',' << s.user_bytes << ',';
      if (s.device_bytes) out << *s.device_bytes;
      out << ',';
      if (s.waf) out << *s.waf;
      out << ',' << s.free_bytes << ',';
      if (s.gc_blocks_moved) out << *s.gc_blocks_moved;
      out << '\n';
    }
  }
  out.flush();
  if (!out) return fail(sys_error(errno, "writing " + path));
  return {};
}

}  // namespace f2sc::stress
