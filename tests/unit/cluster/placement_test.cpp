#include "cluster/directory/placement.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/util/ids.hpp"

namespace {

using puzzle::cluster::rendezvous_weight;
using puzzle::cluster::rendezvous_winner;

const std::vector<std::string> three
    = {"7d1f2a9c-1111-4a55-9b0e-000000000001", "7d1f2a9c-2222-4a55-9b0e-000000000002",
       "7d1f2a9c-3333-4a55-9b0e-000000000003"};

TEST(Placement, SameWinnerWhateverTheOrderOfTheMembers) {
  auto reversed = three;
  std::reverse(reversed.begin(), reversed.end());
  auto rotated = std::vector<std::string>{three[1], three[2], three[0]};
  for (int i = 0; i < 200; ++i) {
    auto id = puzzle::util::new_uuid();
    auto winner = rendezvous_winner(id, three);
    EXPECT_EQ(rendezvous_winner(id, reversed), winner);
    EXPECT_EQ(rendezvous_winner(id, rotated), winner);
  }
}

TEST(Placement, EveryMemberGetsAFairShare) {
  std::map<std::string, int> share;
  constexpr int sessions = 3000;
  for (int i = 0; i < sessions; ++i)
    ++share[rendezvous_winner(puzzle::util::new_uuid(), three)];
  ASSERT_EQ(share.size(), 3u);
  // 1000 expected each; 800 is more than six standard deviations away.
  for (auto& [incarnation, n] : share)
    EXPECT_GT(n, 800) << incarnation;
}

TEST(Placement, OnlyTheLeavingMembersSessionsMove) {
  auto survivors = std::vector<std::string>{three[0], three[1]};
  for (int i = 0; i < 500; ++i) {
    auto id = puzzle::util::new_uuid();
    auto before = rendezvous_winner(id, three);
    auto after = rendezvous_winner(id, survivors);
    if (before != three[2]) {
      EXPECT_EQ(after, before) << id;
    }
  }
}

TEST(Placement, WeightIsStableAndSeparatesKeyFromIncarnation) {
  // A fixed value (computed independently): every node and every build
  // must agree, so no std::hash.
  EXPECT_EQ(rendezvous_weight("session-1", "node-a"), 17092590113597141740ULL);
  EXPECT_NE(rendezvous_weight("ab", "c"), rendezvous_weight("a", "bc"));
  EXPECT_TRUE(rendezvous_winner("x", {}).empty());
  EXPECT_EQ(rendezvous_winner("x", {three[1]}), three[1]);
}

} // namespace
