#pragma once
// The main() of every doctest executable here. Beyond doctest's own, it fails a run that was asked
// for test cases by name (as each ctest entry asks for one) when no case matched: a doctest name
// containing ';' is split in two by CMake's test discovery, and each half would otherwise "pass"
// running nothing (ten cases once went unrun that way).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string_view>

namespace hfc_test {

inline unsigned cases_matched = 0;

// Records how many test cases passed the filters; reports nothing itself.
struct MatchCounter : doctest::IReporter {
  explicit MatchCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override { cases_matched = stats.numTestCasesPassingFilters; }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
DOCTEST_REGISTER_LISTENER("match_counter", 1, MatchCounter);

}  // namespace hfc_test

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;  // --list-test-cases and the like
  bool named = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    named = named || arg.starts_with("--test-case=") || arg.starts_with("-tc=");
  }
  if (named && hfc_test::cases_matched == 0) {
    std::fprintf(stderr, "error: no test case matches the name given; does the test's name contain ';'?\n");
    return 1;
  }
  return result;
}
