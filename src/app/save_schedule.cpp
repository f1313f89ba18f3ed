#include "save_schedule.hpp"

namespace bluetti::app {

SaveSchedule::SaveSchedule(Scheduler& scheduler, std::chrono::milliseconds interval, std::function<void()> save)
    : scheduler_(scheduler), interval_(interval), save_(std::move(save)) {
    arm();
}

SaveSchedule::~SaveSchedule() {
    if (timer_) scheduler_.cancel(timer_);
}

void SaveSchedule::save_now() {
    if (timer_) scheduler_.cancel(timer_);
    timer_ = 0;
    save_();
    arm();
}

void SaveSchedule::arm() {
    timer_ = scheduler_.after(interval_, [this] {
        timer_ = 0;
        save_now();
    });
}

}  // namespace bluetti::app
