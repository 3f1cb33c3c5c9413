#pragma once

#include <cstdint>
#include <string>

/// How a node names itself to the cluster (docs/cluster.md, "Node id and
/// address"): a stable node id and the address its peers reach it at.
namespace puzzle::cluster {

/// This host's name (gethostname), "localhost" when it has none.
std::string host_name();

/// `cluster.node-id` when set; otherwise `<hostname>:<http_port>`, with
/// `cluster_port` when http_port is 0, and a random UUID when both are 0.
std::string node_id_of(const std::string& configured, uint16_t http_port,
                       uint16_t cluster_port);

/// `cluster.advertise` completed to `host:port` (the port defaults to
/// `cluster_port`); when empty: `bind`, unless it is a wildcard (0.0.0.0,
/// ::, empty), then the first non-loopback IPv4 address of this host's
/// name, else 127.0.0.1.
std::string advertised_address(const std::string& configured,
                               const std::string& bind, uint16_t cluster_port);

} // namespace puzzle::cluster
