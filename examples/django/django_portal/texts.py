"""The pages' own words in Vietnamese and English; regflow's errors bring their own."""

from regflow import Message

M = Message

TEXTS: dict[str, M] = {
    "portal": M("Cổng dịch vụ công (Django)", "Public service portal (Django)"),
    "other_language": M("English", "Tiếng Việt"),
    "home_lead": M("Đăng ký tài khoản bằng mã số BHXH.", "Register an account by BHXH number."),
    "register": M("Đăng ký", "Register"),
    "continue": M("Tiếp tục đăng ký", "Continue registering"),
    "method_title": M("Chọn phương thức đăng ký", "Choose how to register"),
    "next": M("Tiếp tục", "Continue"),
    "details_title": M("Thông tin BHXH", "Social insurance details"),
    "bhxh_number": M("Mã số BHXH", "BHXH number"),
    "id_number": M("Số CMND/CCCD (tên đăng nhập)", "CMND/CCCD number (the login)"),
    "full_name": M("Họ và tên", "Full name"),
    "date_of_birth": M("Ngày sinh (dd/mm/yyyy)", "Date of birth (dd/mm/yyyy)"),
    "phone": M("Số điện thoại", "Phone"),
    "email": M("Email (không bắt buộc)", "Email (optional)"),
    "mismatch_title": M("Thông tin không khớp", "Details do not match"),
    "tries_left": M("Số lần thử còn lại:", "Tries left:"),
    "fix_details": M("Sửa thông tin", "Correct the details"),
    "exists_title": M("Tài khoản đã tồn tại", "The account exists"),
    "otp_title": M("Nhập mã OTP", "Enter the OTP"),
    "otp_sent_to": M("Mã OTP đã được gửi tới", "The OTP was sent to"),
    "otp_code": M("Mã OTP", "OTP"),
    "confirm": M("Xác nhận", "Confirm"),
    "resend": M("Gửi lại OTP", "Resend the OTP"),
    "password_title": M("Đặt mật khẩu", "Choose a password"),
    "password": M("Mật khẩu", "Password"),
    "confirmation": M("Nhập lại mật khẩu", "Repeat the password"),
    "done_title": M("Đăng ký thành công", "Registered"),
    "done_lead": M("Tài khoản đã được tạo cho", "The account was created for"),
    "ended_title": M("Phiên đăng ký đã kết thúc", "This registration has ended"),
    "start_again": M("Đăng ký lại", "Start again"),
}
