// Who may enter a private session, and the invite code's comparison and
// generation (actors/session/session_access.hpp): pure functions.

#include "actors/session/session_access.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

using puzzle::may_enter;
using puzzle::may_invite;
using puzzle::new_invite_code;
using puzzle::same_code;
using puzzle::session_access;
using puzzle::user_identity;
using puzzle::user_role;

namespace {

const std::string owner_id = "owner-1";

user_identity user(std::string id, uint8_t roles = static_cast<uint8_t>(user_role::player)) {
  user_identity who;
  who.user_id = std::move(id);
  who.username = "someone";
  who.roles = roles;
  return who;
}

uint8_t roles(std::initializer_list<user_role> xs) {
  uint8_t bits = 0;
  for (auto x : xs)
    bits = static_cast<uint8_t>(bits | static_cast<uint8_t>(x));
  return bits;
}

} // namespace

TEST(SessionAccess, PublicSessionsLetEveryoneIn) {
  session_access none;
  EXPECT_TRUE(may_enter(true, owner_id, none, user("stranger")));
  EXPECT_TRUE(may_enter(true, owner_id, none, user("anonymous", 0)));
}

TEST(SessionAccess, PrivateSessionsLetInTheOwnerAdminsAndInvitedUsers) {
  session_access access{"code", {"invited-1"}};
  EXPECT_TRUE(may_enter(false, owner_id, access, user(owner_id)));
  EXPECT_TRUE(may_enter(false, owner_id, access,
                        user("admin-1", roles({user_role::player, user_role::admin}))));
  EXPECT_TRUE(may_enter(false, owner_id, access, user("invited-1")));
  EXPECT_FALSE(may_enter(false, owner_id, access, user("stranger")));
  // Roles other than admin give no access to sessions.
  EXPECT_FALSE(
      may_enter(false, owner_id, access,
                user("ops", roles({user_role::player, user_role::operator_, user_role::owner}))));
}

TEST(SessionAccess, UnverifiedIdentitiesNeverEnterPrivateSessions) {
  // An anonymous connection (no roles) chooses its own user id: claiming
  // the owner's or an invited user's id must not help.
  session_access access{"code", {"invited-1"}};
  EXPECT_FALSE(may_enter(false, owner_id, access, user(owner_id, 0)));
  EXPECT_FALSE(may_enter(false, owner_id, access, user("invited-1", 0)));
  EXPECT_FALSE(may_invite(owner_id, user(owner_id, 0)));
  // An empty user id is nobody, even if the list had one.
  session_access odd{"code", {""}};
  EXPECT_FALSE(may_enter(false, owner_id, odd, user("")));
}

TEST(SessionAccess, OnlyTheOwnerAndAdminsSeeTheInvite) {
  EXPECT_TRUE(may_invite(owner_id, user(owner_id)));
  EXPECT_TRUE(may_invite(owner_id, user("admin-1", roles({user_role::player, user_role::admin}))));
  EXPECT_FALSE(may_invite(owner_id, user("invited-1")));
  EXPECT_FALSE(may_invite(owner_id, user("ops", roles({user_role::player, user_role::operator_}))));
}

TEST(SessionAccess, CodesCompareExactly) {
  EXPECT_TRUE(same_code("0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(same_code("0123456789abcdef", "0123456789abcdee"));
  EXPECT_FALSE(same_code("0123456789abcdef", "0123456789abcde"));
  EXPECT_FALSE(same_code("0123456789abcde", "0123456789abcdef"));
  EXPECT_FALSE(same_code("", "0123456789abcdef"));
  // A session without a code (public) matches no guess, the empty one
  // included.
  EXPECT_FALSE(same_code("", ""));
  EXPECT_FALSE(same_code("anything", ""));
}

TEST(SessionAccess, NewCodesAre128RandomBitsInHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto code = new_invite_code();
    ASSERT_EQ(code.size(), 32u);
    for (char c : code)
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << code;
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), 1000u);
}
