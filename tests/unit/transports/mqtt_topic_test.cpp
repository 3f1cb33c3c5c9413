// MQTT topic names and filters (transports/mqtt/topic.hpp) against the
// examples of the MQTT 3.1.1 and 5.0 specifications, section 4.7, and the
// shared subscriptions of 5.0, section 4.8.2.

#include "transports/mqtt/topic.hpp"

#include <string>

#include <gtest/gtest.h>

namespace {

using namespace puzzle::transports::mqtt;

bool matches(const std::string& filter, const std::string& name) {
  EXPECT_EQ(check_topic_filter(filter), topic_error::none) << filter;
  EXPECT_EQ(check_topic_name(name), topic_error::none) << name;
  return topic_matches(filter, name);
}

// -- 4.7.1.2 Multi-level wildcard -----------------------------------------------

TEST(MqttTopicMatch, MultiLevelWildcardMatchesParentAndChildren) {
  // "if a Client subscribes to "sport/tennis/player1/#", it would receive
  // messages published using these topic names: ..."
  EXPECT_TRUE(matches("sport/tennis/player1/#", "sport/tennis/player1"));
  EXPECT_TRUE(matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
  EXPECT_FALSE(matches("sport/tennis/player1/#", "sport/tennis/player2"));
  EXPECT_FALSE(matches("sport/tennis/player1/#", "sport/tennis"));
}

TEST(MqttTopicMatch, SportHashMatchesSport) {
  // "sport/#" also matches the singular "sport", since # includes the
  // parent level.
  EXPECT_TRUE(matches("sport/#", "sport"));
  EXPECT_TRUE(matches("sport/#", "sport/"));
  EXPECT_TRUE(matches("sport/#", "sport/tennis/player1"));
  EXPECT_FALSE(matches("sport/#", "sports"));
}

TEST(MqttTopicMatch, HashAloneMatchesEverythingButDollarTopics) {
  EXPECT_TRUE(matches("#", "sport"));
  EXPECT_TRUE(matches("#", "/finance"));
  EXPECT_TRUE(matches("#", "/"));
  EXPECT_TRUE(matches("#", "a/b/c/d/e"));
  EXPECT_FALSE(matches("#", "$SYS/monitor/Clients"));
}

TEST(MqttTopicFilter, MultiLevelWildcardMustBeALastWholeLevel) {
  // "#" and "sport/tennis/#" are valid; "sport/tennis#" and
  // "sport/tennis/#/ranking" are not [MQTT-4.7.1-2].
  EXPECT_EQ(check_topic_filter("#"), topic_error::none);
  EXPECT_EQ(check_topic_filter("sport/tennis/#"), topic_error::none);
  EXPECT_EQ(check_topic_filter("sport/tennis#"), topic_error::misplaced_hash);
  EXPECT_EQ(check_topic_filter("sport/tennis/#/ranking"), topic_error::misplaced_hash);
  EXPECT_EQ(check_topic_filter("a/#b"), topic_error::misplaced_hash);
  EXPECT_EQ(check_topic_filter("##"), topic_error::misplaced_hash);
}

// -- 4.7.1.3 Single-level wildcard ----------------------------------------------

TEST(MqttTopicMatch, SingleLevelWildcardMatchesExactlyOneLevel) {
  // "sport/tennis/+" matches "sport/tennis/player1" and
  // "sport/tennis/player2", but not "sport/tennis/player1/ranking".
  EXPECT_TRUE(matches("sport/tennis/+", "sport/tennis/player1"));
  EXPECT_TRUE(matches("sport/tennis/+", "sport/tennis/player2"));
  EXPECT_FALSE(matches("sport/tennis/+", "sport/tennis/player1/ranking"));
}

TEST(MqttTopicMatch, SportPlusDoesNotMatchSportButMatchesSportSlash) {
  // "sport/+" does not match "sport" but it does match "sport/".
  EXPECT_FALSE(matches("sport/+", "sport"));
  EXPECT_TRUE(matches("sport/+", "sport/"));
}

TEST(MqttTopicMatch, EmptyLevelsAreLevels) {
  // "+/+" and "/+" match "/finance"; "+" does not.
  EXPECT_TRUE(matches("+/+", "/finance"));
  EXPECT_TRUE(matches("/+", "/finance"));
  EXPECT_FALSE(matches("+", "/finance"));
  EXPECT_TRUE(matches("+/+", "/"));
  EXPECT_TRUE(matches("+", "finance"));
  EXPECT_FALSE(matches("sport/", "sport"));
  EXPECT_FALSE(matches("sport", "sport/"));
  EXPECT_TRUE(matches("sport/", "sport/"));
  EXPECT_TRUE(matches("sport//tennis", "sport//tennis"));
  EXPECT_TRUE(matches("sport/+/tennis", "sport//tennis"));
}

TEST(MqttTopicFilter, SingleLevelWildcardMustBeAWholeLevel) {
  // "+", "+/tennis/#" and "sport/+/player1" are valid; "sport+" is not.
  EXPECT_EQ(check_topic_filter("+"), topic_error::none);
  EXPECT_EQ(check_topic_filter("+/tennis/#"), topic_error::none);
  EXPECT_EQ(check_topic_filter("sport/+/player1"), topic_error::none);
  EXPECT_EQ(check_topic_filter("sport+"), topic_error::misplaced_plus);
  EXPECT_EQ(check_topic_filter("sport/+player"), topic_error::misplaced_plus);
  EXPECT_EQ(check_topic_filter("++"), topic_error::misplaced_plus);
}

TEST(MqttTopicMatch, PlusAndHashCombine) {
  EXPECT_TRUE(matches("+/tennis/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(matches("+/tennis/#", "sport/tennis"));
  EXPECT_FALSE(matches("+/tennis/#", "sport/golf"));
  EXPECT_TRUE(matches("iot/+/sensor/+", "iot/box-1/sensor/placement"));
  EXPECT_FALSE(matches("iot/+/sensor/+", "iot/box-1/sensor"));
  EXPECT_FALSE(matches("iot/+/status", "iot/box-1/sensor/placement"));
}

// -- 4.7.2 Topics beginning with $ ----------------------------------------------

TEST(MqttTopicMatch, WildcardFirstFiltersDoNotMatchDollarTopics) {
  // [MQTT-4.7.2-1]: "A subscription to "#" will not receive any messages
  // published to a topic beginning with a $"; "+/monitor/Clients" will not
  // receive messages published to "$SYS/monitor/Clients"; "$SYS/#" will;
  // "$SYS/monitor/+" will.
  EXPECT_FALSE(matches("#", "$SYS/monitor/Clients"));
  EXPECT_FALSE(matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("$SYS/#", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
  EXPECT_FALSE(matches("+", "$SYS"));
  EXPECT_TRUE(matches("$SYS", "$SYS"));
  // Only a leading $ is special.
  EXPECT_TRUE(matches("+/monitor", "a$/monitor"));
  EXPECT_TRUE(matches("#", "sport/$tennis"));
}

// -- 4.7.3 Topic semantics and usage --------------------------------------------

TEST(MqttTopicMatch, MatchingIsCaseSensitiveAndByteExact) {
  // "ACCOUNTS" and "Accounts" are two different topic names; "Accounts
  // payable" is a valid topic name (spaces allowed).
  EXPECT_FALSE(matches("ACCOUNTS", "Accounts"));
  EXPECT_TRUE(matches("Accounts payable", "Accounts payable"));
  EXPECT_FALSE(matches("caf\xc3\xa9", "cafe\xcc\x81")); // no normalisation
  EXPECT_TRUE(matches("+/\xf0\x9f\xa7\xa9", "sport/\xf0\x9f\xa7\xa9"));
}

TEST(MqttTopicName, EmptyTooLongNulAndBadUtf8AreInvalid) {
  EXPECT_EQ(check_topic_name(""), topic_error::empty);
  EXPECT_EQ(check_topic_filter(""), topic_error::empty);
  EXPECT_EQ(check_topic_name(std::string(65'535, 'a')), topic_error::none);
  EXPECT_EQ(check_topic_name(std::string(65'536, 'a')), topic_error::too_long);
  EXPECT_EQ(check_topic_name(std::string{"a\0b", 3}), topic_error::null_character);
  EXPECT_EQ(check_topic_name("a\xff"), topic_error::not_utf8);
  EXPECT_EQ(check_topic_name("\xc0\xaf"), topic_error::not_utf8);     // overlong '/'
  EXPECT_EQ(check_topic_name("\xed\xa0\x80"), topic_error::not_utf8); // surrogate
  EXPECT_EQ(check_topic_name("\xe2\x82"), topic_error::not_utf8);     // truncated
  EXPECT_EQ(check_topic_name("/"), topic_error::none);
  EXPECT_EQ(check_topic_name("$SYS/broker"), topic_error::none);
}

TEST(MqttTopicName, WildcardsAreForFiltersOnly) {
  // [MQTT-4.7.1-1]: wildcards MUST NOT be used within a topic name.
  EXPECT_EQ(check_topic_name("sport/#"), topic_error::wildcard_in_name);
  EXPECT_EQ(check_topic_name("sport/+/player"), topic_error::wildcard_in_name);
  EXPECT_EQ(check_topic_name("iot/box#1/status"), topic_error::wildcard_in_name);
  EXPECT_EQ(check_topic_name("iot/a+b/status"), topic_error::wildcard_in_name);
  EXPECT_FALSE(topic_matches("#", ""));
}

// -- 4.8.2 Shared subscriptions (MQTT 5) -----------------------------------------

TEST(MqttTopicFilter, SharedSubscriptionsNeedAShareNameAndAFilter) {
  EXPECT_EQ(check_topic_filter("$share/consumer1/sport/tennis/+"), topic_error::none);
  EXPECT_EQ(check_topic_filter("$share/consumer2/#"), topic_error::none);
  EXPECT_EQ(check_topic_filter("$share/consumer1"), topic_error::bad_shared_filter);
  EXPECT_EQ(check_topic_filter("$share/consumer1/"), topic_error::bad_shared_filter);
  EXPECT_EQ(check_topic_filter("$share//sport"), topic_error::bad_shared_filter);
  EXPECT_EQ(check_topic_filter("$share/a+b/sport"), topic_error::bad_shared_filter);
  EXPECT_EQ(check_topic_filter("$share/a#/sport"), topic_error::bad_shared_filter);
  EXPECT_EQ(check_topic_filter("$share/g/sport+"), topic_error::misplaced_plus);
}

TEST(MqttTopicMatch, ShareNameTakesNoPartInMatching) {
  EXPECT_TRUE(matches("$share/consumer1/sport/tennis/+", "sport/tennis/player1"));
  EXPECT_FALSE(matches("$share/consumer1/sport/tennis/+", "consumer1/sport/tennis/player1"));
  EXPECT_TRUE(matches("$share/g/#", "a/b"));
  EXPECT_FALSE(matches("$share/g/#", "$SYS/x"));
}

TEST(MqttTopicError, EveryErrorHasAText) {
  for (auto e :
       {topic_error::none, topic_error::empty, topic_error::too_long, topic_error::not_utf8,
        topic_error::null_character, topic_error::wildcard_in_name, topic_error::misplaced_hash,
        topic_error::misplaced_plus, topic_error::bad_shared_filter})
    EXPECT_FALSE(to_string(e).empty());
}

} // namespace
