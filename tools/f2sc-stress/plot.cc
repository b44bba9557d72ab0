#include "tools/f2sc-stress/plot.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "tools/f2sc-stress/report.h"

namespace f2sc::stress {

namespace {

std::string base_of(const std::string& png) {
  if (png.size() > 4 && png.compare(png.size() - 4, 4, ".png") == 0)
    return png.substr(0, png.size() - 4);
  return png;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string gp_string(const std::string& s) {  // a gnuplot single-quoted string
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

bool have_gnuplot() {
  return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

Status write_plot(const std::string& png_path, const std::vector<RunResult>& runs) {
  if (!have_gnuplot())
    return fail(Errc::kNotFound,
                "--plot needs gnuplot on PATH (Debian: apt-get install gnuplot-nox)");
  const std::string base = base_of(png_path);
  const std::string dat = base + ".dat", gp = base + ".gp";
  {
    std::ofstream out(dat);
    if (!out) return fail(sys_error(errno, "writing " + dat));
    // Per run: index 2i = time series (t, waf, free MiB), 2i+1 = latency CDF (us, fraction).
    for (const auto& r : runs) {
      out << "# " << r.mode << " series: t_s waf free_mib\n";
      for (const auto& s : r.samples)
        out << s.t << ' ' << (s.waf ? std::to_string(*s.waf) : std::string("NaN")) << ' '
            << static_cast<double>(s.free_bytes) / (1 << 20) << '\n';
      out << "\n\n# " << r.mode << " latency cdf: us fraction\n";
      for (auto [us, q] : r.latency.cdf) out << us << ' ' << q << '\n';
      if (r.latency.cdf.empty()) out << "NaN NaN\n";
      out << "\n\n";
    }
    // Last index: bars, one row per run.
    out << "# bars: mode device_mib host_read_mib host_write_mib waf\n";
    for (const auto& r : runs) {
      const Figures f = figures(r);
      auto mib = [](std::optional<double> v) {
        return v ? std::to_string(*v / (1 << 20)) : std::string("NaN");
      };
      out << r.mode << ' '
          << (r.device_bytes_written
                  ? std::to_string(static_cast<double>(*r.device_bytes_written) / (1 << 20))
                  : std::string("NaN"))
          << ' ' << mib(f.host_read) << ' ' << mib(f.host_write) << ' '
          << (r.waf ? std::to_string(*r.waf) : std::string("NaN")) << '\n';
    }
    if (!out) return fail(sys_error(errno, "writing " + dat));
  }
  const size_t bars = runs.size() * 2;
  {
    std::ofstream out(gp);
    if (!out) return fail(sys_error(errno, "writing " + gp));
    out << "# f2sc-stress plot; redraw with: gnuplot " << gp << "\n"
        << "set terminal pngcairo size 1400,1000 noenhanced font ',10'\n"
        << "set output " << gp_string(png_path) << "\n"
        << "dat = " << gp_string(dat) << "\n"
        << "set multiplot layout 2,2 title " << gp_string("f2sc-stress: " + runs[0].device) << "\n"
        << "set key top left\nset grid\n"
        << "set title 'WAF over time (device / user writes, cumulative)'\n"
        << "set xlabel 'seconds'\nset ylabel 'WAF'\n"
        << "plot ";
    for (size_t i = 0; i < runs.size(); ++i)
      out << (i ? ", " : "") << "dat index " << 2 * i << " using 1:2 with lines lw 2 title "
          << gp_string(runs[i].mode);
    if (std::isfinite(runs[0].waf_greedy_model))
      out << ", " << runs[0].waf_greedy_model << " with lines dt 2 lc rgb 'black' title "
          << gp_string("greedy model");
    out << "\n"
        << "set title 'free space'\nset ylabel 'MiB free (statfs)'\nplot ";
    for (size_t i = 0; i < runs.size(); ++i)
      out << (i ? ", " : "") << "dat index " << 2 * i << " using 1:3 with lines lw 2 title "
          << gp_string(runs[i].mode);
    out << "\nset title 'user write latency CDF'\nset xlabel 'microseconds'\n"
        << "set ylabel 'fraction of writes'\nset logscale x\nset key bottom right\nplot ";
    for (size_t i = 0; i < runs.size(); ++i)
      out << (i ? ", " : "") << "dat index " << 2 * i + 1 << " using 1:2 with lines lw 2 title "
          << gp_string(runs[i].mode);
    out << "\nunset logscale x\nset title 'traffic per run'\nset xlabel ''\n"
        << "set ylabel 'MiB'\nset style data histograms\nset style histogram clustered\n"
        << "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset key top right\n"
        << "plot dat index " << bars << " using 2:xtic(1) title 'device written', "
        << "'' index " << bars << " using 3 title 'host read', "
        << "'' index " << bars << " using 4 title 'host written'\n"
        << "unset multiplot\n";
    if (!out) return fail(sys_error(errno, "writing " + gp));
  }
  const int rc = std::system(("gnuplot " + quote(gp) + " 2>&1").c_str());
  if (rc != 0 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
    return fail(Errc::kIoError, "gnuplot " + gp + " failed (status " + std::to_string(rc) + ")");
  return {};
}

}  // namespace f2sc::stress
