#include "persistence/sql/accounts.hpp"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "actors/caf_errors.hpp"

using puzzle::errc;
using puzzle::user_account;
using puzzle::user_role;
using puzzle::persistence::load_account;
using puzzle::persistence::put_account;
using puzzle::persistence::soci_store;

namespace {

/// A migrated store in a fresh directory under /tmp, removed afterwards.
class account_store : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/puzzle-accounts-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    auto opened = soci_store::open("sqlite:" + dir_ + "/puzzle.db");
    ASSERT_TRUE(opened) << puzzle::message_of(opened.error());
    db = std::move(*opened);
    auto applied = db->migrate();
    ASSERT_TRUE(applied) << puzzle::message_of(applied.error());
  }

  void TearDown() override {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<soci_store> db;

private:
  std::string dir_;
};

user_account ada() {
  user_account x;
  x.id = "6f1c2a9e-0d51-4b7e-9a43-6a2f0f1b2c3d";
  x.username = "Ada.L";
  x.email = "Ada@Example.org";
  x.password_hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA";
  x.roles = static_cast<uint8_t>(static_cast<uint8_t>(user_role::player)
                                 | static_cast<uint8_t>(user_role::owner));
  x.created_at = 1'700'000'000'123;
  return x;
}

} // namespace

TEST_F(account_store, PutThenLoadByUsernameOrEmailInAnyCase) {
  ASSERT_FALSE(put_account(*db, ada()));
  for (auto login : {"Ada.L", "ada.l", "ADA.L", "ada@example.org", "ADA@EXAMPLE.ORG"}) {
    auto loaded = load_account(*db, login);
    ASSERT_TRUE(loaded) << puzzle::message_of(loaded.error());
    ASSERT_TRUE(loaded->has_value()) << login;
    auto& x = **loaded;
    EXPECT_EQ(x.id, ada().id);
    EXPECT_EQ(x.username, "Ada.L"); // as registered
    EXPECT_EQ(x.email, "ada@example.org");
    EXPECT_EQ(x.password_hash, ada().password_hash);
    EXPECT_EQ(x.roles, ada().roles);
    EXPECT_EQ(x.created_at, ada().created_at);
  }
}

TEST_F(account_store, UnknownLoginIsEmpty) {
  ASSERT_FALSE(put_account(*db, ada()));
  auto loaded = load_account(*db, "grace");
  ASSERT_TRUE(loaded);
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(account_store, TakenUsernameOrEmailIsAConflict) {
  ASSERT_FALSE(put_account(*db, ada()));
  auto same_name = ada();
  same_name.id = "another-id-1";
  same_name.username = "ADA.l";
  same_name.email = "other@example.org";
  auto err = put_account(*db, same_name);
  EXPECT_EQ(puzzle::code_of(err), errc::conflict);
  EXPECT_EQ(puzzle::message_of(err), "this username is taken");
  auto same_email = ada();
  same_email.id = "another-id-2";
  same_email.username = "grace";
  same_email.email = "ada@EXAMPLE.org";
  err = put_account(*db, same_email);
  EXPECT_EQ(puzzle::code_of(err), errc::conflict);
  EXPECT_EQ(puzzle::message_of(err), "an account with this email exists already");
  // Nothing of the refused ones was stored.
  auto grace = load_account(*db, "grace");
  ASSERT_TRUE(grace);
  EXPECT_FALSE(grace->has_value());
}
