// puzzle-ctl: the operators' command line (docs/operators.md).
//
// Reads the operator API of any node of a cluster and runs its actions.
// Exit codes: 0 done, 1 the node refused or could not be reached (the
// error's code and message are printed), 2 a usage error.

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/puzzle-ctl/http_client.hpp"

namespace {

using json = nlohmann::ordered_json;
using namespace puzzle::ctl;

constexpr int exit_ok = 0;
constexpr int exit_server = 1;
constexpr int exit_usage = 2;

/// An action may wait for a drain (cluster.drain-timeout, 30 s by default).
constexpr int request_timeout_ms = 120'000;

constexpr const char* usage_text = R"(usage: puzzle-ctl [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]

Options (also before or after the command):
  --url URL      the node, http://host[:port] (env PUZZLE_URL,
                 default http://127.0.0.1:8080); plain HTTP only
  --token TOKEN  an operator's access token (env PUZZLE_TOKEN)
  --json         print the node's JSON answer as it is

Commands:
  nodes                              members of the cluster
  sessions                           every session and where it lives
  actors [--node N] [--kind K]       actors with mailbox depth and rate
  inspect <key>                      one actor (session/<id>, lock/<s>/<p>,
                                     client/<user id>)
  migrate <session-id|session/<id>> [<node>]
                                     move a session (no node: the
                                     rendezvous winner)
  drain <node>                       move every session off a node; the
                                     node then leaves the cluster
  kill <key>                         end an actor as if it crashed
  audit [--limit N]                  the newest operator actions

Exit codes: 0 ok, 1 the node answered an error or could not be reached,
2 usage.
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  std::string url;
  std::string token;
  bool raw_json = false;
  std::vector<std::string> words; ///< The command and its arguments.
  std::map<std::string, std::string> flags; ///< --node, --kind, --limit.
};

std::string env_or(const char* name, std::string fallback) {
  auto value = std::getenv(name);
  return value && *value ? std::string{value} : std::move(fallback);
}

/// A token goes into a header line as it is: printable ASCII only.
bool valid_token(const std::string& token) {
  return std::all_of(token.begin(), token.end(),
                     [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

/// A key, node or session id argument: the node refuses empty ones with a
/// confusing answer (an empty path segment is another route).
const std::string& non_empty(const std::string& word, const char* what) {
  if (word.empty()) throw usage_error(std::string{what} + " must not be empty");
  return word;
}

options parse(int argc, char** argv) {
  options out;
  out.url = env_or("PUZZLE_URL", "http://127.0.0.1:8080");
  out.token = env_or("PUZZLE_TOKEN", "");
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& name) {
      if (i + 1 >= argc) throw usage_error(name + " needs a value");
      return std::string{argv[++i]};
    };
    if (arg == "--url") out.url = value(arg);
    else if (arg == "--token") out.token = value(arg);
    else if (arg == "--json") out.raw_json = true;
    else if (arg == "--node" || arg == "--kind" || arg == "--limit")
      out.flags[arg.substr(2)] = value(arg);
    else if (arg == "-h" || arg == "--help") out.words = {"help"};
    else if (arg.size() > 1 && arg[0] == '-') throw usage_error("unknown option " + arg);
    else out.words.push_back(arg);
  }
  if (!valid_token(out.token))
    throw usage_error("the token must be printable ASCII without spaces");
  return out;
}

/// Allows only the flags a command knows, and exactly `min..max` words.
void expect(const options& o, size_t min, size_t max,
            std::vector<std::string> flags = {}) {
  for (auto& [name, value] : o.flags)
    if (std::find(flags.begin(), flags.end(), name) == flags.end())
      throw usage_error("--" + name + " does not apply to " + o.words[0]);
  auto n = o.words.size() - 1;
  if (n < min || n > max)
    throw usage_error("wrong number of arguments for " + o.words[0]);
}

std::string text_of(const json& x) {
  if (x.is_null()) return "-";
  if (x.is_string()) return x.get<std::string>();
  return x.dump();
}

/// Prints rows as aligned columns under a header.
void table(const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (auto& r : rows)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < r.size(); ++c) {
      out += r[c];
      if (c + 1 < r.size()) out += std::string(width[c] - r[c].size() + 2, ' ');
    }
    std::cout << out << '\n';
  };
  line(header);
  for (auto& r : rows) line(r);
}

std::string query(const options& o, const std::vector<std::string>& names) {
  std::string out;
  for (auto& n : names)
    if (auto it = o.flags.find(n); it != o.flags.end())
      out += (out.empty() ? "?" : "&") + n + "=" + encode_segment(it->second);
  return out;
}

/// An actor key as one path segment (keys contain '/').
std::string key_path(const std::string& key) {
  return encode_segment(key);
}

void print_nodes(const json& nodes) {
  std::vector<std::vector<std::string>> rows;
  for (auto& n : nodes) {
    std::string load = "-";
    if (n.contains("load"))
      load = text_of(n["load"].value("connections", json{})) + " conn, "
          + text_of(n["load"].value("sessions", json{})) + " sessions";
    rows.push_back({text_of(n.value("id", json{})), text_of(n.value("incarnation", json{})),
                    text_of(n.value("address", json{})), text_of(n.value("state", json{})),
                    text_of(n.value("uptime", json{})), load,
                    n.value("this", false) ? "*" : ""});
  }
  table({"NODE", "INCARNATION", "ADDRESS", "STATE", "UPTIME", "LOAD", "THIS"}, rows);
}

void print_sessions(const json& sessions) {
  std::vector<std::vector<std::string>> rows;
  for (auto& s : sessions)
    rows.push_back({text_of(s.value("id", json{})), text_of(s.value("name", json{})),
                    text_of(s.value("node", json{})),
                    text_of(s.value("generation", json{})),
                    s.value("live", false) ? "yes" : "no",
                    text_of(s.value("version", json{})),
                    text_of(s.value("completedPieces", json{})) + "/"
                        + text_of(s.value("pieceCount", json{})),
                    text_of(s.value("participantsOnline", json{}))});
  table({"SESSION", "NAME", "NODE", "GEN", "LIVE", "VERSION", "PLACED", "ONLINE"}, rows);
}

void print_actors(const json& answer) {
  std::vector<std::vector<std::string>> rows;
  for (auto& a : answer.value("actors", json::array()))
    rows.push_back({text_of(a.value("key", json{})), text_of(a.value("kind", json{})),
                    text_of(a.value("node", json{})),
                    text_of(a.value("mailboxDepth", json{})),
                    text_of(a.value("messagesHandled", json{})),
                    text_of(a.value("messageRate", json{})),
                    a.value("summary", json::object()).dump()});
  table({"KEY", "KIND", "NODE", "MAILBOX", "HANDLED", "RATE/S", "SUMMARY"}, rows);
  for (auto& u : answer.value("unreachable", json::array()))
    std::cout << "unreachable: " << text_of(u.value("node", json{})) << " ("
              << text_of(u.value("incarnation", json{})) << "): "
              << text_of(u.value("code", json{})) << ' '
              << text_of(u.value("message", json{})) << '\n';
}

void print_probe(const json& a) {
  for (auto name : {"key", "kind", "node", "incarnation", "mailboxDepth",
                    "messagesHandled", "messageRate"})
    if (a.contains(name))
      std::cout << std::left << std::setw(17) << (std::string{name} + ":")
                << text_of(a[name]) << '\n';
  std::cout << "summary:\n" << a.value("summary", json::object()).dump(2) << '\n';
}

void print_audit(const json& records) {
  std::vector<std::vector<std::string>> rows;
  for (auto& r : records)
    rows.push_back({text_of(r.value("at", json{})),
                    text_of(r.value("operatorName", json{})) + " ("
                        + text_of(r.value("operatorId", json{})) + ")",
                    text_of(r.value("action", json{})), text_of(r.value("target", json{})),
                    text_of(r.value("outcome", json{})), text_of(r.value("detail", json{}))});
  table({"AT", "OPERATOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"}, rows);
}

/// Lists answer arrays of objects, the other commands one object.
bool has_shape(const std::string& cmd, const json& answer) {
  auto list = cmd == "nodes" || cmd == "sessions" || cmd == "audit";
  if (!list) return answer.is_object();
  return answer.is_array()
      && std::all_of(answer.begin(), answer.end(),
                     [](const json& x) { return x.is_object(); });
}

int run(const options& o) {
  if (o.words.empty()) throw usage_error("no command given");
  auto& cmd = o.words[0];
  if (cmd == "help") {
    std::cout << usage_text;
    return exit_ok;
  }
  std::string method = "GET", path, body;
  std::function<void(const json&)> print;
  if (cmd == "nodes") {
    expect(o, 0, 0);
    path = "/api/cluster/nodes";
    print = print_nodes;
  } else if (cmd == "sessions") {
    expect(o, 0, 0);
    path = "/api/cluster/sessions";
    print = print_sessions;
  } else if (cmd == "actors") {
    expect(o, 0, 0, {"node", "kind"});
    path = "/api/cluster/actors" + query(o, {"node", "kind"});
    print = print_actors;
  } else if (cmd == "inspect") {
    expect(o, 1, 1, {"node"});
    path = "/api/cluster/actors/" + key_path(non_empty(o.words[1], "the key"))
        + query(o, {"node"});
    print = print_probe;
  } else if (cmd == "migrate") {
    expect(o, 1, 2);
    auto id = o.words[1];
    if (id.rfind("session/", 0) == 0) id = id.substr(8);
    if (id.empty()) throw usage_error("migrate needs a session id");
    method = "POST";
    path = "/api/cluster/sessions/" + encode_segment(id) + "/migrate";
    body = o.words.size() > 2
        ? json{{"node", non_empty(o.words[2], "the node")}}.dump()
        : "{}";
    print = [](const json& a) {
      std::cout << "session " << text_of(a.value("sessionId", json{})) << " now on "
                << text_of(a.value("node", json{})) << " ("
                << text_of(a.value("incarnation", json{})) << ")\n";
    };
  } else if (cmd == "drain") {
    expect(o, 1, 1);
    method = "POST";
    path = "/api/cluster/nodes/" + encode_segment(non_empty(o.words[1], "the node"))
        + "/drain";
    print = [](const json& a) {
      std::cout << "node " << text_of(a.value("node", json{})) << ": "
                << "sessions moved: " << text_of(a.value("sessionsMoved", json{}))
                << "; it leaves the cluster now\n";
    };
  } else if (cmd == "kill") {
    expect(o, 1, 1, {"node"});
    method = "POST";
    path = "/api/cluster/actors/" + key_path(non_empty(o.words[1], "the key"))
        + "/kill" + query(o, {"node"});
    print = [](const json& a) {
      std::cout << "killed " << text_of(a.value("key", json{})) << " on "
                << text_of(a.value("nodes", json::array())) << '\n';
    };
  } else if (cmd == "audit") {
    expect(o, 0, 0, {"limit"});
    path = "/api/cluster/audit" + query(o, {"limit"});
    print = print_audit;
  } else {
    throw usage_error("unknown command " + cmd);
  }
  auto where = parse_url(o.url);
  auto res = send_request(where, method, path, o.token, body, request_timeout_ms);
  auto answer = json::parse(res.body, nullptr, false);
  if (res.status < 200 || res.status > 299) {
    std::string code = "HTTP_" + std::to_string(res.status), message = res.body;
    if (answer.is_object()) {
      // Only the contract's shape; anything else is shown as it came.
      if (auto c = answer.find("code"); c != answer.end() && c->is_string())
        code = c->get<std::string>();
      if (auto m = answer.find("message"); m != answer.end() && m->is_string())
        message = m->get<std::string>();
    }
    std::cerr << "puzzle-ctl: " << res.status << ' ' << code << ": " << message << '\n';
    return exit_server;
  }
  if (answer.is_discarded()) {
    std::cerr << "puzzle-ctl: the node's answer is not JSON\n";
    return exit_server;
  }
  if (o.raw_json) {
    std::cout << answer.dump(2) << '\n';
    return exit_ok;
  }
  // Printed into a buffer first: an answer of another shape (not a node of
  // this version) gives one clear error, not half a table.
  auto unexpected = [&] {
    std::cerr << "puzzle-ctl: the node's answer to " << cmd
              << " has an unexpected shape (use --json to see it)\n";
    return exit_server;
  };
  if (!has_shape(cmd, answer)) return unexpected();
  std::ostringstream printed;
  auto* out = std::cout.rdbuf(printed.rdbuf());
  try {
    print(answer);
  } catch (const json::exception&) {
    std::cout.rdbuf(out);
    return unexpected();
  }
  std::cout.rdbuf(out);
  std::cout << printed.str();
  return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const usage_error& e) {
    std::cerr << "puzzle-ctl: " << e.what() << "\n\n" << usage_text;
    return exit_usage;
  } catch (const url_error& e) {
    std::cerr << "puzzle-ctl: " << e.what() << '\n';
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "puzzle-ctl: " << e.what() << '\n';
    return exit_server;
  }
}
