// The settings API of restrack/options.h: validation, the suppressions file, then the
// settings layer. Above suppressions (which it loads eagerly, to return their problems).
#include "logging.h"
#include "restrack/options.h"
#include "settings.h"
#include "suppressions_internal.h"

RESTRACK_NAMESPACE_BEGIN

Options current_options() noexcept { return internal::settings(); }

bool set_options(const Options& options) noexcept {
  internal::initialize_settings();
  std::vector<std::string> errors;
  const Options current = internal::settings();
  const Options checked = internal::validated(options, current, &errors);
  // The rules for the settings about to be installed (the next generation), so that a
  // dispatch in between does not load them a second time.
  internal::load_suppressions(checked.suppressions, internal::settings_generation() + 1, &errors);
  internal::install_settings(checked);
  for (const std::string& error : errors) internal::log_error(error);
  return errors.empty();
}

bool apply_options(std::string_view text) noexcept {
  std::vector<std::string> errors;
  Options options;
  try {
    options = parse_options(text, current_options(), &errors);
  } catch (...) {
    internal::log_error("out of memory parsing options");
    return false;
  }
  for (const std::string& error : errors) internal::log_error(error);
  const bool applied = set_options(options);
  return applied && errors.empty();
}

RESTRACK_NAMESPACE_END
