#include "cli/args.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace hac::cli {
namespace {

const FlagSpec* FindLong(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const FlagSpec* FindShort(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& s : specs) {
    if (!s.short_name.empty() && s.short_name == name) return &s;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> ParsedArgs::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& ParsedArgs::GetAll(const std::string& name) const {
  static const std::vector<std::string>* const kEmpty = new std::vector<std::string>();
  auto it = values_.find(name);
  return it == values_.end() ? *kEmpty : it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<FlagSpec>& specs,
                                     const std::vector<std::string>& args,
                                     const std::string& context) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.set_has_rest(true);
      for (size_t j = i + 1; j < args.size(); ++j) out.AddRest(args[j]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      out.AddPositional(arg);
      continue;
    }
    const bool is_long = arg.rfind("--", 0) == 0;
    std::string body = arg.substr(is_long ? 2 : 1);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = is_long ? FindLong(specs, body) : FindShort(specs, body);
    const std::string shown = is_long ? "--" + body : "-" + body;
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag ", shown, " for '", context, "' (see 'hacctl ", context, " --help')"));
    }
    if (spec->boolean) {
      std::string value = inline_value.value_or("true");
      if (value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("flag ", shown, " takes no value or =true/=false, got '", value, "'"));
      }
      out.AddValue(spec->name, value);
      continue;
    }
    if (!inline_value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "flag ", shown, " needs a value",
            spec->value_name.empty() ? "" : absl::StrCat(" (", spec->value_name, ")")));
      }
      inline_value = args[++i];
    }
    out.AddValue(spec->name, *inline_value);
  }
  return out;
}

std::string FlagHelp(const std::vector<FlagSpec>& specs) {
  std::vector<std::pair<std::string, std::string>> rows;
  size_t width = 0;
  for (const FlagSpec& s : specs) {
    std::string left = "  ";
    if (!s.short_name.empty()) absl::StrAppend(&left, "-", s.short_name, ", ");
    absl::StrAppend(&left, "--", s.name);
    if (!s.boolean) absl::StrAppend(&left, " ", s.value_name.empty() ? "VALUE" : s.value_name);
    width = std::max(width, left.size());
    rows.emplace_back(left, s.help + (s.repeatable ? " (repeatable)" : ""));
  }
  std::string out;
  for (const auto& [left, help] : rows) {
    absl::StrAppend(&out, left, std::string(width - left.size() + 3, ' '), help, "\n");
  }
  return out;
}

}  // namespace hac::cli
