#include "actors/channel/channel_registry_actor.hpp"

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace puzzle;
using namespace puzzle::test_support;

/// The registry between scoped actors standing in for connections.
class ChannelRegistryActor : public actor_fixture {
protected:
  ChannelRegistryActor() : alice(sys), bob(sys) {
    registry = sys.spawn(channel_registry);
    track(registry);
    sched.run();
  }

  void subscribe(caf::scoped_actor& who, const std::string& channel) {
    who->send(registry, subscribe_atom::value, channel,
              caf::actor_cast<channel_subscriber_actor>(who));
    sched.run();
  }

  void unsubscribe(caf::scoped_actor& who, const std::string& channel) {
    who->send(registry, unsubscribe_atom::value, channel,
              caf::actor_cast<channel_subscriber_actor>(who));
    sched.run();
  }

  channel_message publish(caf::scoped_actor& from, const std::string& channel,
                          const std::string& data) {
    channel_message msg;
    msg.channel = channel;
    msg.data = std::make_shared<const std::string>(data);
    from->send(registry, publish_atom::value, msg);
    sched.run();
    return msg;
  }

  /// Every channel message waiting in `who`'s mailbox, in arrival order.
  std::vector<channel_message> received(caf::scoped_actor& who) {
    std::vector<channel_message> out;
    for (bool more = true; more;)
      who->receive(
          [&](channel_message& msg) {
            out.push_back(std::move(msg));
          },
          caf::after(std::chrono::seconds(0)) >>
              [&] {
                more = false;
              });
    return out;
  }

  caf::scoped_actor alice;
  caf::scoped_actor bob;
  channel_registry_actor registry;
};

TEST_F(ChannelRegistryActor, DeliversAPublicationToEverySubscriberOnce) {
  subscribe(alice, "lobby");
  subscribe(bob, "lobby");
  subscribe(bob, "lobby"); // again: still one delivery
  publish(alice, "lobby", R"({"hello":1})");
  auto to_alice = received(alice);
  auto to_bob = received(bob);
  ASSERT_EQ(to_alice.size(), 1u);
  ASSERT_EQ(to_bob.size(), 1u);
  EXPECT_EQ(to_alice[0].channel, "lobby");
  EXPECT_EQ(*to_alice[0].data, R"({"hello":1})");
  EXPECT_EQ(*to_bob[0].data, R"({"hello":1})");
  EXPECT_GT(to_bob[0].sent_at, 0) << "the registry stamps the time";
}

TEST_F(ChannelRegistryActor, SharesOneFrameCacheAmongSubscribers) {
  subscribe(alice, "lobby");
  subscribe(bob, "lobby");
  publish(alice, "lobby", "1");
  auto to_alice = received(alice);
  auto to_bob = received(bob);
  ASSERT_EQ(to_alice.size(), 1u);
  ASSERT_EQ(to_bob.size(), 1u);
  EXPECT_EQ(to_alice[0].cache, to_bob[0].cache)
      << "each wire format is encoded once per publication";
}

TEST_F(ChannelRegistryActor, KeepsChannelsApart) {
  subscribe(alice, "a");
  subscribe(bob, "b");
  publish(alice, "a", "1");
  EXPECT_EQ(received(alice).size(), 1u);
  EXPECT_TRUE(received(bob).empty());
}

TEST_F(ChannelRegistryActor, PublishingToAChannelWithoutSubscribersIsANoOp) {
  publish(alice, "nobody", "1");
  EXPECT_TRUE(received(alice).empty());
}

TEST_F(ChannelRegistryActor, UnsubscribeStopsDeliveryOfThatChannelOnly) {
  subscribe(bob, "a");
  subscribe(bob, "b");
  unsubscribe(bob, "a");
  unsubscribe(bob, "never-subscribed"); // a no-op
  publish(alice, "a", "1");
  publish(alice, "b", "2");
  auto to_bob = received(bob);
  ASSERT_EQ(to_bob.size(), 1u);
  EXPECT_EQ(to_bob[0].channel, "b");
}

TEST_F(ChannelRegistryActor, ASubscriberReceivesItsOwnPublicationsInOrder) {
  subscribe(alice, "a");
  publish(alice, "a", "1");
  publish(alice, "a", "2");
  publish(alice, "a", "3");
  auto got = received(alice);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(*got[0].data, "1");
  EXPECT_EQ(*got[1].data, "2");
  EXPECT_EQ(*got[2].data, "3");
}

TEST_F(ChannelRegistryActor, ForgetsASubscriberThatExits) {
  subscribe(alice, "a");
  {
    caf::scoped_actor carol{sys};
    subscribe(carol, "a");
  } // carol exits; the registry gets her down message
  sched.run();
  publish(alice, "a", "1");
  EXPECT_EQ(received(alice).size(), 1u) << "the others still get it";
}

} // namespace
